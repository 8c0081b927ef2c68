"""The growing world cache of long shots: chunk planning and lifting generated frames into the cache.

A shot longer than the generator's chunk is made in overlapping chunks (`plan_chunks`); each chunk is guided by
the source cache plus the points lifted from the frames generated before it (`WorldPoints`), and continues from
the previous chunk's frames, which are tied in its guidance (`tie_overlap`). After a chunk, some of its new frames
are lifted into the world (`lift_frame`): their depth from the shot's depth backend, aligned by a robust scale
and shift (`align_depth`) to the depth the cache rendered on the pixels it already covered, and unprojected only
where the cache had holes. `merge` keeps one point per voxel (the older point wins: what was invented once is
seen again unchanged) and caps the number of points (coarser voxels until it fits), so memory stays bounded.
docs/WORLD.md says why. Pure functions, arrays in and out; no files, no backends (the depth is a callable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shotsmith.camera import CameraPath
from shotsmith.errors import InputError

#: Native chunk length of the generators whose frame rule does not fix one (Wan is trained at 81 frames).
NATIVE_FRAMES: dict[str, int] = {"wan": 81}
#: Fewest covered pixels a generated frame needs for its depth to be aligned to the cache (else it is not lifted).
MIN_ALIGN_PIXELS = 64
#: Largest median relative error of an aligned depth on the covered pixels for the frame to be lifted.
MAX_ALIGN_ERROR = 0.15
#: Default cap on the world's points (about 15 bytes each: xyz float32, rgb uint8, radius float16).
DEFAULT_MAX_POINTS = 2_000_000


# ---------------------------------------------------------------------------------------------------------------
# Chunks


@dataclass(frozen=True)
class Chunk:
    """Frames [start, stop) of the shot generated together; frames [start, new) repeat earlier chunks' frames
    (tied in the guidance, their outputs dropped) and [new, stop) are this chunk's own."""

    index: int
    start: int
    stop: int
    new: int

    @property
    def overlap(self) -> int:
        return self.new - self.start

    def __len__(self) -> int:
        return self.stop - self.start


def native_chunk(name: str, frame_rule: str, fixed_frames: int | None) -> int | None:
    """The generator's native chunk length: its fixed frame count, its trained length (`NATIVE_FRAMES`), or
    None (any length in one go: the embedded inpaint)."""
    if frame_rule == "fixed" and fixed_frames:
        return int(fixed_frames)
    return NATIVE_FRAMES.get(name)


def default_overlap(frame_rule: str, chunk: int) -> int:
    """Frames a chunk repeats from the previous one when not asked: for video models (whose VAEs pack 4 frames
    per latent after the first) the first latent frame and the group after it (5) when chunks have room for
    it (9+), so a chunk's own frames start past the frames its VAE decodes from the tied start; else 1."""
    if frame_rule in ("4k+1", "fixed") and chunk >= 9:
        return 5
    return 1


def chunk_length(
    frames: int, requested: int | None, native: int | None, fit: Callable[[int], int], overlap: int
) -> int | None:
    """The chunk length for a shot of `frames` frames, or None when the shot is made in one go (it fits one
    chunk, or the generator has no native length and no `--chunk` was given). `fit` is the generator's frame
    rule (`Constraints.fit_frames`); a requested length it would change is refused with the nearest one."""
    if requested is not None:
        if requested < 2:
            raise InputError(f"--chunk {requested}: a chunk needs at least 2 frames")
        if fit(requested) != requested:
            raise InputError(
                f"--chunk {requested}: this generator makes {fit(requested)} frames per chunk, not {requested}; "
                f"use --chunk {fit(requested)}"
            )
        if overlap >= requested:
            raise InputError(
                f"--chunk-overlap {overlap}: must be smaller than --chunk {requested} (default 1)"
            )
        size = requested
    elif native is None:
        return None
    else:
        size = native
    return size if frames > size else None


def plan_chunks(frames: int, chunk: int, overlap: int = 1) -> list[Chunk]:
    """Overlapping chunks of exactly `chunk` frames covering frames [0, frames): each starts `chunk - overlap`
    after the previous one; the last one ends at the last frame (it may overlap more). Every frame is the own
    frame of exactly one chunk."""
    if frames <= chunk:
        return [Chunk(0, 0, frames, 0)]
    if not 0 <= overlap < chunk:
        raise InputError(f"chunk overlap {overlap}: must be in [0, {chunk - 1}]")
    step = chunk - overlap
    out: list[Chunk] = []
    start, prev_stop = 0, 0
    while prev_stop < frames:
        start = min(start, frames - chunk)
        stop = start + chunk
        out.append(Chunk(len(out), start, stop, prev_stop))
        prev_stop = stop
        start += step
    return out


def tie_overlap(rgb, mask, depth, chunk: Chunk, previous: np.ndarray):
    """Copies of a chunk's guidance whose overlap frames show the frames already generated (`previous`, the
    shot's output so far), marked covered, so the chunk continues from them."""
    rgb, mask, depth = rgb.copy(), mask.copy(), depth.copy()
    k = chunk.overlap
    if k:
        rgb[:k] = previous[chunk.start : chunk.new]
        mask[:k] = True
    return rgb, mask, depth


# ---------------------------------------------------------------------------------------------------------------
# The world's added points


@dataclass
class WorldPoints:
    """Points added to the cache from generated frames (world coordinates, scene units)."""

    points: np.ndarray
    """(P, 3) float32."""
    colors: np.ndarray
    """(P, 3) uint8."""
    radius: np.ndarray
    """(P,) float32 world-space footprint radius (one source pixel of the frame it came from, times a factor)."""
    voxel: float
    """Edge of the merge voxel in scene units (grows when the cap is reached)."""

    @classmethod
    def empty(cls, voxel: float) -> WorldPoints:
        return cls(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros(0, np.float32), voxel)

    def __len__(self) -> int:
        return len(self.points)

    def digest(self) -> str:
        """A content hash (chunk keys include the world they started from)."""
        h = hashlib.blake2b(digest_size=16)
        for a in (self.points, self.colors, self.radius, np.float64(self.voxel)):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


def default_voxel(fx: float, voxel_px: float = 1.0) -> float:
    """Merge voxel in scene units: `voxel_px` source pixels at the subject distance (1.0)."""
    return float(voxel_px) / float(fx)


def _voxel_keys(points: np.ndarray, voxel: float) -> np.ndarray:
    q = np.floor(points.astype(np.float64) / voxel).astype(np.int64)
    return np.ascontiguousarray(q).view(np.dtype((np.void, 24))).ravel()


def _first_per_voxel(keys: np.ndarray) -> np.ndarray:
    """Indices of the first point of each voxel, in their original order."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def merge(world: WorldPoints, points, colors, radius, max_points: int = DEFAULT_MAX_POINTS) -> WorldPoints:
    """The world with new points added: one point per voxel, the existing point winning over new ones (what was
    invented once stays as it was), new points in one voxel reduced to the first; when the total passes
    `max_points`, the voxel doubles and the whole set is merged again (oldest first) until it fits."""
    points = np.asarray(points, np.float32).reshape(-1, 3)
    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    radius = np.asarray(radius, np.float32).reshape(-1)
    finite = np.isfinite(points).all(axis=1)
    points, colors, radius = points[finite], colors[finite], radius[finite]
    all_p = np.concatenate([world.points, points])
    all_c = np.concatenate([world.colors, colors])
    all_r = np.concatenate([world.radius, radius])
    voxel = world.voxel
    while True:
        keep = _first_per_voxel(_voxel_keys(all_p, voxel)) if len(all_p) else np.zeros(0, int)
        if len(keep) <= max_points:
            break
        voxel *= 2.0
    grow = voxel / world.voxel  # coarser voxels: each kept point stands for a larger area
    r = all_r[keep] * np.float32(grow) if grow > 1 else all_r[keep]
    return WorldPoints(all_p[keep], all_c[keep], r.astype(np.float32), voxel)


# ---------------------------------------------------------------------------------------------------------------
# Lifting generated frames


def align_depth(
    pred: np.ndarray, ref: np.ndarray, mask: np.ndarray, iters: int = 10, trials: int = 256
) -> tuple[float, float]:
    """(scale, shift) with scale * pred + shift ~ ref on `mask`, robust to outliers: the least-median-of-squares
    line of `trials` random pixel pairs (seeded: the same input gives the same fit), refined by Tukey-weighted
    least squares (pixels off by more than 4.685 robust sigmas get no weight). Raises ValueError when fewer
    than `MIN_ALIGN_PIXELS` pixels are usable or the prediction is flat."""
    m = mask & (pred > 0) & (ref > 0) & np.isfinite(pred) & np.isfinite(ref)
    x, y = pred[m].astype(np.float64), ref[m].astype(np.float64)
    if len(x) < MIN_ALIGN_PIXELS:
        raise ValueError(f"only {len(x)} covered pixels to align on")
    rng = np.random.default_rng(0)
    if len(x) > 20_000:
        pick = rng.choice(len(x), 20_000, replace=False)
        xs, ys = x[pick], y[pick]
    else:
        xs, ys = x, y
    i, j = rng.integers(0, len(xs), (2, trials))
    dx = xs[i] - xs[j]
    ok = np.abs(dx) > 1e-9 * max(1.0, float(np.abs(xs).max()))
    if not ok.any():
        raise ValueError("the predicted depth is flat on the covered pixels")
    s_c = (ys[i] - ys[j])[ok] / dx[ok]
    t_c = ys[i][ok] - s_c * xs[i][ok]
    s_c, t_c = s_c[s_c > 0], t_c[s_c > 0]  # depth grows with depth
    if not len(s_c):
        raise ValueError("no increasing fit of the predicted depth to the cache's")
    e = rng.choice(len(xs), min(2000, len(xs)), replace=False)  # scored on a sample (256 x 2000 residuals)
    xe, ye = xs[e], ys[e]
    med = np.median(np.abs(s_c[:, None] * xe[None, :] + t_c[:, None] - ye[None, :]), axis=1)
    best = int(np.argmin(med))
    s, t = float(s_c[best]), float(t_c[best])
    for _ in range(iters):
        res = s * x + t - y
        sigma = max(1.4826 * float(np.median(np.abs(res))), 1e-9 * float(np.median(y)))
        u = res / (4.685 * sigma)
        w = np.where(np.abs(u) < 1, (1 - u * u) ** 2, 0.0)
        if w.sum() < 2:
            break
        sw = np.sqrt(w)
        a = np.stack([x, np.ones_like(x)], axis=1) * sw[:, None]
        sol, *_ = np.linalg.lstsq(a, y * sw, rcond=None)
        s, t = float(sol[0]), float(sol[1])
    return s, t


def extend_depth(depth: np.ndarray, covered: np.ndarray, ring_px: int = 3, far: float = 90.0) -> np.ndarray:
    """The cache's depth continued into its holes: each connected hole takes the far side of the depth around
    it (the `far` percentile of the covered depths within `ring_px` of it): a hole opened behind an edge shows
    the far side, not the figure in front. The fallback depth of a frame whose depth prediction cannot be
    aligned to the cache; a flat stand-in, used only where nothing better is known."""
    from scipy import ndimage

    d = np.where(covered, depth, 0).astype(np.float32)
    holes = ~covered | (d <= 0)
    labels, n = ndimage.label(holes)
    if n == 0:
        return d
    size = 2 * ring_px + 1
    near_label = ndimage.grey_dilation(labels, size=(size, size))
    ring = ~holes & (near_label > 0)
    if not ring.any():
        return d
    values = ndimage.labeled_comprehension(
        d[ring], near_label[ring], np.arange(1, n + 1), lambda v: np.percentile(v, far), np.float32, 0.0
    )
    out = d.copy()
    out[holes] = values[labels[holes] - 1]
    return out


@dataclass
class Lifted:
    """What lifting one frame added (before the merge)."""

    points: np.ndarray
    colors: np.ndarray
    radius: np.ndarray
    scale: float
    shift: float
    align_error: float
    """Median relative error of the aligned depth on the covered pixels."""
    depth_source: str = "predicted"
    """"predicted" (the depth backend, aligned), "own" (the generator's), "cache-extended" (the prediction
    disagreed with the cache by more than `max_align_error`: the cache's depth continued into the holes)."""


def lift_frame(
    rgb: np.ndarray,
    depth_pred: np.ndarray,
    covered: np.ndarray,
    depth_ref: np.ndarray,
    cameras: CameraPath,
    frame: int,
    radius_factor: float = 1.0,
    aligned: bool = False,
    max_align_error: float = MAX_ALIGN_ERROR,
) -> Lifted | None:
    """Points of a generated frame where the cache had a hole (`~covered`), at the frame's predicted depth
    aligned to the cache's rendered depth `depth_ref` on the covered pixels (`aligned`: the depth is already in
    scene units, the generator's own). When the aligned prediction disagrees with the cache (a median relative
    error over `max_align_error`) the cache's depth continued into the holes is used instead (`extend_depth`).
    Hole pixels at depth discontinuities of the completed depth (flying pixels, and the hole's border where the
    prediction disagrees with the cache) are left out. None when it cannot be aligned (too few covered pixels)
    or nothing is left. `depth_pred` may be at another size (it is resized)."""
    import cv2

    from shotsmith.geometry import flying_pixel_mask

    h, w = covered.shape
    if depth_pred.shape != (h, w):
        depth_pred = cv2.resize(depth_pred.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    holes = ~covered & (depth_pred > 0)
    if not holes.any():
        return None
    source = "own" if aligned else "predicted"
    s, t = 1.0, 0.0
    if not aligned:
        try:
            s, t = align_depth(depth_pred, depth_ref, covered)
        except ValueError:
            return None
    aligned_depth = (s * depth_pred + t).astype(np.float32)
    cov = covered & (depth_ref > 0) & (depth_pred > 0)
    err = float(np.median(np.abs(aligned_depth[cov] - depth_ref[cov]) / depth_ref[cov])) if cov.any() else 0.0
    if not aligned and err > max_align_error:  # the depth model disagrees with the cache: continue the cache
        aligned_depth, source = extend_depth(depth_ref, covered & (depth_ref > 0)), "cache-extended"
        holes = ~covered
    full = np.where(covered, depth_ref, np.maximum(aligned_depth, 0)).astype(np.float32)
    holes &= (aligned_depth > 0) & flying_pixel_mask(full)
    if not holes.any():
        return None
    fx, fy, cx, cy = (float(v) for v in cameras.intrinsics[frame])
    v, u = np.nonzero(holes)
    z = aligned_depth[v, u].astype(np.float64)
    cam = np.stack([(u + 0.5 - cx) / fx * z, (v + 0.5 - cy) / fy * z, z], axis=1)
    pose = cameras.world_from_camera[frame]
    world = cam @ pose[:3, :3].T + pose[:3, 3]
    radius = (radius_factor * z / fx).astype(np.float32)
    return Lifted(world.astype(np.float32), rgb[v, u].astype(np.uint8), radius, s, t, err, source)


def lift_frames(
    video: np.ndarray,
    covered: np.ndarray,
    depth_ref: np.ndarray,
    cameras: CameraPath,
    frames: list[int],
    depth_of: Callable[[np.ndarray], np.ndarray] | None,
    world: WorldPoints,
    max_points: int = DEFAULT_MAX_POINTS,
    own_depth: np.ndarray | None = None,
) -> tuple[WorldPoints, list[dict]]:
    """The world with the hole pixels of `frames` (indices into `video`) added; per frame a report (points
    added, alignment). `own_depth` (T, H, W): the generator's own depth of its frames in scene units (the
    embedded inpaint's fill), used as it is; else `depth_of(rgb) -> depth`, the shot's depth backend, aligned."""
    reports = []
    for f in frames:
        if own_depth is not None:
            lifted = lift_frame(video[f], own_depth[f], covered[f], depth_ref[f], cameras, f, aligned=True)
        else:
            assert depth_of is not None
            lifted = lift_frame(video[f], depth_of(video[f]), covered[f], depth_ref[f], cameras, f)
        if lifted is None:
            reports.append({"frame": int(f), "added": 0})
            continue
        before = len(world)
        world = merge(world, lifted.points, lifted.colors, lifted.radius, max_points)
        reports.append(
            {
                "frame": int(f),
                "added": len(world) - before,
                "scale": round(lifted.scale, 6),
                "shift": round(lifted.shift, 6),
                "align_error": round(lifted.align_error, 6),
                "depth": lifted.depth_source,
            }
        )
    return world, reports


def lift_indices(chunk: Chunk, every: int) -> list[int]:
    """Frames of a chunk (indices within it) lifted into the world: every `every`-th own frame and its last."""
    own = list(range(chunk.new - chunk.start, len(chunk)))
    picked = own[every - 1 :: every] if every > 0 else []
    if own and own[-1] not in picked:
        picked.append(own[-1])
    return picked


def chunk_key(*parts) -> str:
    """A hash of a chunk's inputs (arrays by their bytes and shape, everything else by its repr)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.shape, p.dtype.str)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.hexdigest()
