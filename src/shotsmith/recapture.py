"""Re-shooting a video (ReCamMaster's job) with a 4D cache: the pure geometry, arrays in and arrays out.

Owns: per-frame depth made consistent over time (each frame's depth scale aligned to its already aligned
neighbours and to frame 0 on the pixels they share, by a robust median, so a static wall does not breathe);
the source cameras (static, a camera file, or pycolmap's estimate with its scale matched to the depth by a
photometric search); the 4D point sets (one coloured point set per source frame, in world = source camera at
frame 0, 1.0 = median depth of frame 0); the target path relative to the source camera (ReCamMaster: relative
to the source's first frame); and rendering target frame t from source frame t's points, filled where frame t
does not see from the other frames' points that a depth test accepts (REFERENCE 5.3 Cache4D, plus the fill).

Also: per-frame depth of a decoded clip from a depth backend or a user's depth file fitted to the shot
(`depth_for_frames`, `load_depth_video`) and the source cameras of a clip (`source_cameras`).
It does not decode video (`shotsmith.video`), run depth models itself (`shotsmith.backends.depth`), splat
(`shotsmith.render`), fill holes (the generators) or touch a workspace (the build-3d-cache stage does).
Conventions: docs/CONVENTIONS.md; the method: docs/RECAPTURE.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid
from shotsmith.errors import InputError, check_numpy_file, check_shape

SourceCameraMode = Literal["static", "estimate", "file"]
TargetMode = Literal["first", "follow"]
AlignMode = Literal["median", "none"]


# ---------------------------------------------------------------------------------------------------------------
# Small projection helpers (float64 for the poses, float32 for the pixels)


def _unproject_pixels(depth: np.ndarray, rows: np.ndarray, cols: np.ndarray, intrinsics) -> np.ndarray:
    """(P, 3) float64 camera points of pixels (rows, cols) of a z-depth map (pixel centres at +0.5)."""
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    z = depth[rows, cols].astype(np.float64)
    return np.stack([(cols + 0.5 - cx) / fx * z, (rows + 0.5 - cy) / fy * z, z], axis=1)


def _project(points: np.ndarray, intrinsics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P,) int pixel columns, (P,) int rows and (P,) z of (P, 3) camera points (floor of u, v)."""
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    z = points[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = fx * points[:, 0] / z + cx
        v = fy * points[:, 1] / z + cy
    u = np.where(np.isfinite(u), u, -1e9)
    v = np.where(np.isfinite(v), v, -1e9)
    return np.floor(u).astype(np.int64), np.floor(v).astype(np.int64), z


def _transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def _is_identity(matrix: np.ndarray, tol: float = 1e-9) -> bool:
    return bool(np.abs(np.asarray(matrix) - np.eye(4)).max() <= tol)


def _bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,) bilinear samples of a (H, W) image at index coordinates (u, v) inside [0, W-1] x [0, H-1]."""
    h, w = image.shape
    u0 = np.clip(np.floor(u).astype(np.int64), 0, w - 2)
    v0 = np.clip(np.floor(v).astype(np.int64), 0, h - 2)
    a, b = u - u0, v - v0
    top = image[v0, u0] * (1 - a) + image[v0, u0 + 1] * a
    bottom = image[v0 + 1, u0] * (1 - a) + image[v0 + 1, u0 + 1] * a
    return top * (1 - b) + bottom * b


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Depth made consistent over time


@dataclass
class AlignOptions:
    """How per-frame depth scales are tied together over time."""

    mode: AlignMode = "median"
    """"median": each frame's scale is the robust median of the ratios to its references on shared static
    pixels; "none": every frame is normalised on its own (median depth 1.0, for comparison)."""
    references: int = 3
    """Previous (already aligned) frames each frame is compared with, besides frame 0."""
    colour_threshold: float = 20.0
    """Grey-level difference (0-255) above which a shared pixel counts as moving and is left out."""
    samples: int = 20000
    """Pixels sampled per frame for the fit."""
    iterations: int = 4
    """Fixed-point iterations when the source camera moves (the correspondences depend on the scale)."""
    seed: int = 0
    """Seed of the pixel sampling."""


@dataclass
class AlignReport:
    """What the alignment found."""

    scales: list[float] = field(default_factory=list)
    """Per frame: scene depth = scale x backend depth."""
    shared_fraction: list[float] = field(default_factory=list)
    """Per frame: fraction of the sampled pixels that found a static partner in a reference."""


def _scale_against(
    depth_t: np.ndarray,
    grey_t: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    refs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    intrinsics: np.ndarray,
    init: float,
    opts: AlignOptions,
) -> tuple[float, float]:
    """(scale, shared fraction) of one frame's raw depth against references (aligned depth, grey, ref_from_t)."""
    h, w = depth_t.shape
    cam = _unproject_pixels(depth_t, rows, cols, intrinsics)
    g = grey_t[rows, cols]
    moving = any(not _is_identity(m) for _, _, m in refs)
    scale = init
    shared = 0.0
    for _ in range(opts.iterations if moving else 1):
        ratios = []
        n_ok = 0
        for ref_depth, ref_grey, ref_from_t in refs:
            rot, t = ref_from_t[:3, :3], ref_from_t[:3, 3]
            rp = cam @ rot.T  # rotated, unscaled
            p = rp * scale + t
            u, v, z = _project(p, intrinsics)
            ok = (z > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h) & (rp[:, 2] > 1e-9)
            uu, vv = u[ok], v[ok]
            d_ref = ref_depth[vv, uu]
            same = (d_ref > 0) & (np.abs(ref_grey[vv, uu] - g[ok]) <= opts.colour_threshold)
            if not same.any():
                continue
            s_i = (d_ref[same] - t[2]) / rp[ok][same, 2]
            s_i = s_i[s_i > 0]
            ratios.append(s_i)
            n_ok += len(s_i)
        if not ratios or sum(len(r) for r in ratios) < 16:
            return scale, 0.0
        all_r = np.concatenate(ratios)
        # Robust: the median of the log ratios, then once more over the ratios within 10% of it.
        med = float(np.exp(np.median(np.log(all_r))))
        close = all_r[np.abs(np.log(all_r / med)) < 0.1]
        scale = float(np.exp(np.median(np.log(close)))) if len(close) >= 16 else med
        shared = n_ok / max(1, len(rows) * len(refs))
    return scale, shared


def align_depths(
    depths: np.ndarray,
    frames: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    options: AlignOptions | None = None,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, AlignReport]:
    """(T, H, W) float32 depths in scene units, consistent over time, and the report.

    `depths` (T, H, W) raw backend depths (0 = invalid), `frames` (T, H, W, 3) uint8, `world_from_camera`
    (T, 4, 4) source poses already in scene units (frame 0 = identity; translations are taken to be in the units
    where frame 0's median depth is 1.0), `intrinsics` (4,), `valid` (H, W) bool content mask. Frame 0 is
    scaled to median 1.0; each later frame t gets the scale that makes its static pixels agree with frames
    0, t-1, ..., t-`references` (robust median over the pixels whose colour also agrees).
    """
    opts = options or AlignOptions()
    depths = np.asarray(depths, dtype=np.float32)
    t_, h, w = depths.shape
    check_shape("frames", frames, (t_, h, w, 3))
    check_shape("world_from_camera", world_from_camera, (t_, 4, 4))
    from shotsmith.geometry import subject_depth

    content = np.ones((h, w), bool) if valid is None else np.asarray(valid, bool)
    out = np.zeros_like(depths)
    report = AlignReport()
    greys = [_grey(f) for f in frames]
    rng = np.random.default_rng(opts.seed)
    camera_from_world = invert_rigid(world_from_camera)
    for t in range(t_):
        d = np.where(content, depths[t], 0).astype(np.float32)
        if not (d > 0).any():
            raise InputError(f"frame {t}: the depth backend found no valid depth; try another --depth")
        if t == 0 or opts.mode == "none":
            scale = 1.0 / subject_depth(d)
            shared = 1.0 if t == 0 else 0.0
        else:
            rows, cols = np.nonzero(d > 0)
            if len(rows) > opts.samples:
                pick = rng.choice(len(rows), opts.samples, replace=False)
                rows, cols = rows[pick], cols[pick]
            ref_ids = sorted({0, *range(max(0, t - opts.references), t)})
            refs = [(out[r], greys[r], camera_from_world[r] @ world_from_camera[t]) for r in ref_ids]
            init = report.scales[t - 1]
            scale, shared = _scale_against(d, greys[t], rows, cols, refs, intrinsics, init, opts)
        out[t] = d * np.float32(scale)
        report.scales.append(float(scale))
        report.shared_fraction.append(round(float(shared), 4))
    return out, report


# ---------------------------------------------------------------------------------------------------------------
# Source cameras


def static_cameras(num_frames: int) -> np.ndarray:
    """(T, 4, 4) identity poses: a tripod shot."""
    return np.tile(np.eye(4), (num_frames, 1, 1))


def hold_unregistered(world_from_camera: np.ndarray, registered: np.ndarray) -> np.ndarray:
    """(T, 4, 4) poses where each unregistered frame takes the nearest registered frame's pose, re-expressed
    relative to frame 0."""
    m = np.asarray(world_from_camera, dtype=np.float64).copy()
    reg = np.flatnonzero(registered)
    if len(reg) == 0:
        raise InputError("pose estimation registered no frame; use --source-camera static or a camera file")
    for i in np.flatnonzero(~np.asarray(registered, bool)):
        m[i] = m[reg[np.argmin(np.abs(reg - i))]]
    return invert_rigid(m[0]) @ m


def photometric_cost(
    scale: float,
    grey0: np.ndarray,
    depth0: np.ndarray,
    greys: list[np.ndarray],
    camera_from_world: list[np.ndarray],
    intrinsics: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    cap: float = 40.0,
) -> float:
    """Mean capped grey difference between frame 0's sampled pixels and where they land in the other frames
    when the poses' translations are multiplied by `scale` (frame 0 depth in scene units)."""
    h, w = depth0.shape
    x0 = _unproject_pixels(depth0, rows, cols, intrinsics)
    g0 = grey0[rows, cols]
    fx, fy, cx, cy = (float(x) for x in intrinsics)
    total, count = 0.0, 0
    for grey, m in zip(greys, camera_from_world, strict=True):
        p = x0 @ m[:3, :3].T + scale * m[:3, 3]
        z = p[:, 2]
        ok = z > 1e-6
        u = (fx * p[ok, 0] / z[ok] + cx - 0.5).astype(np.float32)
        v = (fy * p[ok, 1] / z[ok] + cy - 0.5).astype(np.float32)
        inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
        if inside.sum() < 16:
            total += cap * len(rows)
            count += len(rows)
            continue
        sampled = _bilinear(grey, u[inside], v[inside])
        diff = np.minimum(np.abs(sampled - g0[ok][inside]), cap)
        total += float(diff.sum()) + cap * float(len(rows) - inside.sum())
        count += len(rows)
    return total / max(1, count)


def match_pose_scale(
    frames: np.ndarray,
    depth0: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    samples: int = 4000,
    max_frames: int = 6,
    seed: int = 0,
) -> float:
    """The factor that brings an up-to-scale pose estimate (T, 4, 4) (frame 0 = identity) into the scene units of
    frame 0's depth (H, W): the scale whose warps of frame 0 into the frames farthest from it match their colours
    best (a log-grid search, then a finer one). 1.0 when the cameras do not translate."""
    import cv2

    m = np.asarray(world_from_camera, dtype=np.float64)
    dist = np.linalg.norm(m[:, :3, 3], axis=1)
    extent = float(dist.max())
    if extent < 1e-9:
        return 1.0
    order = [int(i) for i in np.argsort(-dist)[:max_frames] if dist[i] > 0.05 * extent]
    blur = [cv2.GaussianBlur(_grey(frames[i]), (0, 0), 1.0) for i in [0, *order]]
    cfw = [invert_rigid(m[i]) for i in order]
    rows, cols = np.nonzero(depth0 > 0)
    rng = np.random.default_rng(seed)
    if len(rows) > samples:
        pick = rng.choice(len(rows), samples, replace=False)
        rows, cols = rows[pick], cols[pick]

    def cost(s: float) -> float:
        return photometric_cost(s, blur[0], depth0, blur[1:], cfw, intrinsics, rows, cols)

    # Baselines (largest camera distance) from 0.2% to 300% of the subject distance.
    grid = np.geomspace(0.002, 3.0, 48) / extent
    costs = [cost(float(s)) for s in grid]
    best = int(np.argmin(costs))
    lo, hi = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    fine = np.geomspace(lo, hi, 21)
    fine_costs = [cost(float(s)) for s in fine]
    return float(fine[int(np.argmin(fine_costs))])


def estimate_cameras(frames: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, dict]:
    """(T, 4, 4) up-to-scale source poses relative to frame 0, estimated by pycolmap (through
    `shotsmith.evaluate.estimate_poses`), and facts for the record. Unregistered frames hold the nearest pose."""
    from shotsmith.evaluate import estimate_poses

    trials, timings = estimate_poses(frames, np.asarray(intrinsics, dtype=np.float64))
    trial = trials[0]
    if not trial.ok:
        raise InputError(
            f"pycolmap could not estimate the source camera ({trial.error or 'too few frames registered'}); "
            "use --source-camera static for a tripod shot, or give a camera file"
        )
    poses = hold_unregistered(np.nan_to_num(trial.world_from_camera), trial.registered)
    facts = {
        "registered_fraction": round(trial.registered_fraction, 4),
        "reprojection_error_px": trial.reprojection_error_px,
        **timings,
    }
    return poses, facts


# ---------------------------------------------------------------------------------------------------------------
# The target path


def target_path(
    plan: CameraPath, source_world_from_camera: np.ndarray, mode: TargetMode = "first"
) -> CameraPath:
    """The target cameras in the world (= source camera at frame 0).

    `plan` is the planned path (frame 0 at the identity). "first" (ReCamMaster): target frame i is the plan's
    pose i relative to the source's first frame, so `world_from_target_i = world_from_source_0 @ plan_i`;
    "follow": the plan's offset rides along with the moving source camera, `world_from_source_i @ plan_i`.
    """
    src = np.asarray(source_world_from_camera, dtype=np.float64)
    rel = invert_rigid(plan.world_from_camera[0]) @ plan.world_from_camera
    if mode == "first":
        mats = src[0] @ rel
    elif mode == "follow":
        if len(src) != len(plan):
            raise InputError(f"target follow mode: {len(src)} source poses for {len(plan)} target frames")
        mats = src @ rel
    else:
        raise InputError(f"target mode {mode!r}: choose 'first' or 'follow'")
    out = plan.copy()
    out.world_from_camera = mats
    return out


# ---------------------------------------------------------------------------------------------------------------
# Per-frame depth and source cameras of a decoded clip


def load_depth_video(path: str | Path, clip) -> np.ndarray:
    """(T, H, W) float32 raw depth of the shot's frames from a .npz ("depth" key, else the first array) or .npy
    holding one map per frame of the video at the shot's frame rate, from its start: (N >= available, h, w) with
    the source's aspect (fitted like the pixels) or the shot's size (used as is). A single (h, w) map is used for
    every frame (a static scene)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--depth {path}: no such file; give a .npz or .npy with (T, H, W) depth per frame")
    check_numpy_file(path)
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                keys = list(data.keys())
                if not keys:
                    raise InputError(f"--depth {path}: the .npz holds no array; store it under 'depth'")
                arr = data["depth" if "depth" in keys else keys[0]]
        else:
            arr = data
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"--depth {path}: not a readable numpy file ({exc})") from exc
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"--depth {path}: expected (T, H, W) depth per frame, got shape {arr.shape}")
    t_, w_, h_ = len(clip.frames), *clip.fit.target_size
    need = int(clip.source_index.max()) + 1
    if len(arr) == 1:
        idx = np.zeros(t_, int)
    elif len(arr) >= need:
        idx = clip.source_index
    else:
        raise InputError(
            f"--depth {path}: {len(arr)} depth maps for a shot that uses {need} frames of the video; give one map "
            "per frame at the shot's frame rate"
        )
    out = np.zeros((t_, h_, w_), np.float32)
    sw, sh = clip.fit.source_size
    for k, i in enumerate(idx):
        d = np.where(np.isfinite(arr[i]) & (arr[i] > 0), arr[i], 0).astype(np.float32)
        if d.shape == (h_, w_):
            out[k] = d
            continue
        if abs(d.shape[1] / d.shape[0] - sw / sh) > 0.01 * sw / sh + 1.0 / d.shape[0]:
            raise InputError(
                f"--depth {path}: maps of {d.shape[1]}x{d.shape[0]} match neither the video ({sw}x{sh}) nor the "
                f"shot ({w_}x{h_})"
            )
        out[k] = clip.fit.apply_to_depth(d)
    return out


def depth_for_frames(frames: np.ndarray, backend) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(T, H, W) float32 raw depth of each frame from a depth backend, the median of the intrinsics it estimated
    ((4,) or None) and its notes."""
    from shotsmith.console import track
    from shotsmith.geometry import sanitize_depth

    backend.load()
    t_, h, w = frames.shape[:3]
    out = np.zeros((t_, h, w), np.float32)
    intr, notes = [], []
    for t in track(range(t_), f"depth ({backend.name})", total=t_):
        res = backend(frames[t])
        d, _ = sanitize_depth(res.depth)
        if d.shape != (h, w):
            raise InputError(f"depth backend {backend.name!r} returned {d.shape} for a {h}x{w} frame")
        if res.mask is not None:
            d = np.where(res.mask, d, np.float32(0))
        out[t] = d
        if res.intrinsics is not None:
            intr.append(np.asarray(res.intrinsics, np.float64).reshape(4))
        for n in res.notes:
            if n not in notes:
                notes.append(n)
    return out, (np.median(np.stack(intr), axis=0) if intr else None), notes


def source_cameras(
    source_camera: str, clip, depth0: np.ndarray, intrinsics, notes: list[str]
) -> tuple[np.ndarray, dict]:
    """(T, 4, 4) source poses in scene units (frame 0 = identity) and facts: `source_camera` is "static", "estimate"
    (pycolmap) or a camera file; up-to-scale poses are brought to frame 0's depth (`depth0`, scene units) by
    `match_pose_scale`."""
    from shotsmith.camera import relative_to_first, resample

    t_ = len(clip.frames)
    if source_camera == "static":
        return static_cameras(t_), {"source_camera": "static"}
    if source_camera == "estimate":
        raw, facts = estimate_cameras(clip.frames, intrinsics)
    else:
        from shotsmith.formats import read_camera_file

        cam = relative_to_first(read_camera_file(source_camera))
        need = int(clip.source_index.max()) + 1
        if len(cam) >= need:
            raw = cam.world_from_camera[clip.source_index]
        else:
            notes.append(f"--source-camera {source_camera}: {len(cam)} poses resampled to {t_} frames")
            raw = resample(cam, t_).world_from_camera
        facts = {"source_camera": "file", "file": source_camera}
    scale = match_pose_scale(clip.frames, depth0, raw, intrinsics)
    poses = raw.copy()
    poses[:, :3, 3] *= scale
    facts["pose_scale"] = scale
    return poses, facts


# ---------------------------------------------------------------------------------------------------------------
# The 4D cache


@dataclass
class Cache4D:
    """One coloured point set per source frame, as per-pixel maps (GEN3C's Cache4D, REFERENCE 5.3)."""

    depth: np.ndarray
    """(T, H, W) float32 z-depth in scene units; 0 = no point (invalid, off the content, or a flying pixel)."""
    rgb: np.ndarray
    """(T, H, W, 3) uint8 colours."""
    world_from_camera: np.ndarray
    """(T, 4, 4) float64 source camera poses (frame 0 = identity)."""
    intrinsics: np.ndarray
    """(4,) float64 (fx, fy, cx, cy) of the source frames in pixels."""
    seen: np.ndarray | None = None
    """(T, H, W) float32 what each frame sees: the aligned depth before the flying-pixel filter (0 = invalid or
    off the content); the depth test of the fill uses it. None = `depth`."""

    def __post_init__(self) -> None:
        t_, h, w = self.depth.shape
        check_shape("rgb", self.rgb, (t_, h, w, 3))
        check_shape("world_from_camera", self.world_from_camera, (t_, 4, 4))
        self.intrinsics = np.asarray(self.intrinsics, dtype=np.float64).reshape(4)
        if self.seen is None:
            self.seen = self.depth
        check_shape("seen", self.seen, (t_, h, w))

    def __len__(self) -> int:
        return len(self.depth)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.depth.shape[2], self.depth.shape[1]

    def points(self, t: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame t's (P, 3) float32 world points, (P, 3) uint8 colours and (P,) float32 footprint radii
        (`shotsmith.render.point_radius`'s rule), of the pixels with depth > 0 (and in `mask`)."""
        from shotsmith.geometry import unproject_depth
        from shotsmith.render import DEFAULT_RADIUS_FACTOR

        keep = self.depth[t] > 0
        if mask is not None:
            keep &= mask
        cam = unproject_depth(self.depth[t], self.intrinsics)[keep]
        m = self.world_from_camera[t]
        world = cam if _is_identity(m) else _transform(m, cam).astype(np.float32)
        radius = cam[:, 2] * np.float32(DEFAULT_RADIUS_FACTOR / self.intrinsics[0])
        return world, self.rgb[t][keep], radius


def build_cache4d(
    depths: np.ndarray,
    frames: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    filter_threshold: float,
    valid: np.ndarray | None = None,
    filter_mode: Literal["edges", "range"] = "edges",
) -> Cache4D:
    """The 4D cache of aligned (T, H, W) depths: flying pixels and pixels off the (H, W) `valid` content mask get
    depth 0. `filter_mode` "edges" keeps both sides of a depth step and snaps the pixels between them onto the
    side whose colour they continue (`geometry.snap_flying_pixels`, as for a photo); "range" is GEN3C's rule
    (`geometry.flying_pixel_mask`)."""
    from shotsmith.geometry import flying_pixel_mask, snap_flying_pixels

    depths = np.asarray(depths, dtype=np.float32)
    seen = depths if valid is None else np.where(valid, depths, np.float32(0)).astype(np.float32)
    out = np.zeros_like(seen)
    for t in range(len(seen)):
        if filter_mode == "edges":
            depth, keep = snap_flying_pixels(seen[t], np.asarray(frames[t], np.uint8), filter_threshold)
        else:
            depth, keep = seen[t], flying_pixel_mask(seen[t], filter_threshold)
        out[t] = np.where(keep, depth, 0)
    return Cache4D(
        out, np.asarray(frames, np.uint8), np.asarray(world_from_camera, np.float64), intrinsics, seen=seen
    )


# ---------------------------------------------------------------------------------------------------------------
# Rendering a target frame: frame t's points, plus the other frames' static points a depth test accepts


@dataclass
class FillOptions:
    """How the other source frames fill what frame t does not see."""

    other_frames: int = 8
    """Other source frames tried per target frame (spread evenly over the clip); 0 renders frame t alone."""
    depth_tolerance: float = 0.03
    """Relative depth band within which a point of frame s lies on frame t's own surface (then it is redundant
    and skipped); a point farther than frame t's depth by more than this is occluded at t (accepted), nearer by
    more than this means frame t sees through where it was (rejected: it moved)."""


def _accept(z: np.ndarray, seen: np.ndarray, have: np.ndarray, tolerance: float) -> np.ndarray:
    """The depth test on matched samples: point depth `z`, frame t's `seen` depth and its own point's depth
    `have` there (0 = none). Reject when frame t sees farther than the point (it sees through where the point
    was: the point moved); skip when frame t has its own point on the same surface; accept the rest (hidden at
    t, or not seen by frame t at all)."""
    sees_through = (seen > 0) & (seen > z * (1.0 + tolerance))
    redundant = (have > 0) & (np.abs(have - z) <= tolerance * z)
    return ~sees_through & ~redundant


def accept_points(
    world_points: np.ndarray,
    seen_t: np.ndarray,
    depth_t: np.ndarray,
    world_from_camera_t: np.ndarray,
    intrinsics: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """(P,) bool: which of frame s's (P, 3) world points may fill frame t.

    Each point is projected into source camera t; `seen_t` (H, W) is what frame t sees there (z-depth, 0 =
    invalid) and `depth_t` (H, W) frame t's own points (0 = none). A point outside frame t's view is kept; inside,
    it is kept when frame t's depth is not farther than it (within `tolerance`, relative): hidden at t, so frame t
    cannot say it moved. Where frame t sees farther, it sees through where the point was: the point moved,
    rejected. A point on frame t's own surface is skipped (frame t has it)."""
    h, w = depth_t.shape
    cam = _transform(invert_rigid(world_from_camera_t), np.asarray(world_points, np.float64))
    u, v, z = _project(cam, intrinsics)
    inside = (z > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    keep = ~inside
    iu, iv = u[inside], v[inside]
    keep[inside] = _accept(z[inside], seen_t[iv, iu], depth_t[iv, iu], tolerance)
    return keep


def fill_frames(t: int, num_frames: int, count: int) -> list[int]:
    """Up to `count` other frames than t, spread evenly over the clip (the farthest in time included)."""
    if count <= 0 or num_frames < 2:
        return []
    others = [s for s in range(num_frames) if s != t]
    if len(others) <= count:
        return others
    pick = np.linspace(0, len(others) - 1, count).round().astype(int)
    return sorted({others[i] for i in pick})


def frame_points(cache: Cache4D, t: int, fill: FillOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Points to render for target frame t: frame t's own plus the accepted points of the other frames.
    Returns (P, 3) float32 world points, (P, 3) uint8 colours, (P,) float32 radii and how many came from
    other frames."""
    pts, cols, rad = cache.points(t)
    parts = [(pts, cols, rad)]
    borrowed = 0
    for s in fill_frames(t, len(cache), fill.other_frames):
        if np.abs(cache.world_from_camera[s] - cache.world_from_camera[t]).max() < 1e-9:
            mask = (cache.depth[s] > 0) & _accept(
                cache.depth[s], cache.seen[t], cache.depth[t], fill.depth_tolerance
            )
            if not mask.any():
                continue
            p, c, r = cache.points(s, mask)
        else:
            p, c, r = cache.points(s)
            keep = accept_points(
                p,
                cache.seen[t],
                cache.depth[t],
                cache.world_from_camera[t],
                cache.intrinsics,
                fill.depth_tolerance,
            )
            p, c, r = p[keep], c[keep], r[keep]
        if len(p):
            parts.append((p, c, r))
            borrowed += len(p)
    if len(parts) == 1:
        return pts, cols, rad, 0
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        borrowed,
    )


@dataclass
class RenderReport:
    """Facts about a 4D render."""

    borrowed_points: list[int] = field(default_factory=list)
    """Per target frame: points taken from other source frames."""
    coverage: list[float] = field(default_factory=list)
    """Per target frame: covered fraction of the pixels."""


def render_cache4d(
    cache: Cache4D,
    target: CameraPath,
    fill: FillOptions | None = None,
    settings=None,
    progress: str | None = None,
):
    """Render target frame t from source frame t's points plus the accepted points of the other frames.

    `target` has one camera per source frame (T frames). Returns a `shotsmith.render.RenderedVideo` (rgb
    (T, H, W, 3) uint8, mask (T, H, W) bool, depth (T, H, W) float32) and a `RenderReport`."""
    from shotsmith.render import RenderedVideo, render_points

    fill = fill or FillOptions()
    n = len(target)
    if n != len(cache):
        raise InputError(
            f"target path has {n} frames but the 4D cache has {len(cache)}; resample one of them"
        )
    h, w = target.height, target.width
    video = RenderedVideo(
        rgb=np.zeros((n, h, w, 3), np.uint8),
        mask=np.zeros((n, h, w), bool),
        depth=np.zeros((n, h, w), np.float32),
    )
    report = RenderReport()
    frames = range(n)
    if progress:
        from shotsmith.console import track

        frames = track(frames, progress, total=n)
    for t in frames:
        pts, cols, rad, borrowed = frame_points(cache, t, fill)
        out = render_points(
            pts, cols, target.world_from_camera[t], target.intrinsics[t], w, h, radius=rad, settings=settings
        )
        video.rgb[t], video.mask[t], video.depth[t] = out.rgb, out.mask, out.depth
        report.borrowed_points.append(int(borrowed))
        report.coverage.append(round(float(out.mask.mean()), 4))
    return video, report


# ---------------------------------------------------------------------------------------------------------------
# Metrics used by tests and the benchmark


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB between uint8 images or videos `a` and `b` (same shape), over `mask` (broadcast over colour)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = (a - b) ** 2
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    mse = float(diff.mean()) if diff.size else 0.0
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


__all__ = [
    "AlignOptions",
    "AlignReport",
    "Cache4D",
    "FillOptions",
    "RenderReport",
    "accept_points",
    "align_depths",
    "build_cache4d",
    "estimate_cameras",
    "fill_frames",
    "frame_points",
    "hold_unregistered",
    "match_pose_scale",
    "photometric_cost",
    "psnr",
    "render_cache4d",
    "static_cameras",
    "target_path",
]
