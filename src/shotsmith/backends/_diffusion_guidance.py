"""Pure math of guidance-tied denoising (numpy only): latent masks, hole filling, blending, step schedules.

The neural generators in `shotsmith.backends.diffusion` keep the pixels the 3D cache covers tied to the
rendered guidance while a video diffusion model fills the holes. That needs the pixel coverage mask at the
resolution of the video VAE's latents, a plausible colour in the holes before the guidance is encoded, and a
blend of the guidance latents (re-noised to the current timestep) into the model's latents. These functions
hold that math and nothing else: no torch, no diffusers, no schedulers. `blend` works on numpy arrays and on
torch tensors alike (it only multiplies and adds).

Causal video VAEs (Wan2.1, CogVideoX) encode frame 0 alone into latent frame 0 and every following group of
`temporal` frames into one latent frame, so T = temporal * (t - 1) + 1 pixel frames give t latent frames.
"""

from __future__ import annotations

import numpy as np

from shotsmith.errors import InputError


def latent_frame_groups(num_frames: int, temporal: int) -> list[slice]:
    """Pixel-frame slices that each latent frame of a causal video VAE encodes.

    `num_frames` must be `temporal * k + 1`: group 0 is frame 0, group j >= 1 is frames
    `temporal * (j - 1) + 1 ... temporal * j`.
    """
    if temporal < 1 or num_frames < 1 or (num_frames - 1) % temporal:
        raise InputError(
            f"{num_frames} frames do not fit a causal video VAE with temporal factor {temporal}: "
            f"the count must be {temporal}k+1"
        )
    groups = [slice(0, 1)]
    for j in range(1, (num_frames - 1) // temporal + 1):
        groups.append(slice(temporal * (j - 1) + 1, temporal * j + 1))
    return groups


def _video_shape(name: str, array: np.ndarray, spatial: int) -> tuple[int, int, int]:
    """(T, H, W) of a per-pixel guidance video; InputError unless it is 3-D with H and W multiples of `spatial`."""
    if array.ndim != 3:
        raise InputError(f"{name}: expected an array of shape (T, H, W), got {array.shape}")
    n, height, width = array.shape
    if height % spatial or width % spatial:
        raise InputError(
            f"guidance size {width}x{height} is not a multiple of the VAE's spatial factor {spatial}"
        )
    return n, height, width


def latent_coverage(mask: np.ndarray, temporal: int, spatial: int) -> np.ndarray:
    """(t, h, w) float32 fraction of covered pixels under each latent cell of a `(T, H, W)` bool mask.

    A cell spans its latent frame's pixel frames (see `latent_frame_groups`) and a `spatial` x `spatial`
    pixel block. H and W must be multiples of `spatial`.
    """
    mask = np.asarray(mask)
    n, height, width = _video_shape("guidance mask", mask, spatial)
    cells = (
        mask.astype(np.float32)
        .reshape(n, height // spatial, spatial, width // spatial, spatial)
        .mean(axis=(2, 4))
    )
    return np.stack([cells[g].mean(axis=0) for g in latent_frame_groups(n, temporal)]).astype(np.float32)


def erode_cells(mask: np.ndarray, iterations: int) -> np.ndarray:
    """(t, h, w) binary mask shrunk by `iterations` cells in space (3x3 min filter per frame; borders stay)."""
    out = np.asarray(mask, dtype=np.float32)
    for _ in range(max(0, int(iterations))):
        padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
        h, w = out.shape[1:]
        out = np.min(
            np.stack([padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]), axis=0
        )
    return out


def latent_mask(
    mask: np.ndarray, temporal: int, spatial: int, min_coverage: float = 0.98, erode: int = 0
) -> np.ndarray:
    """(t, h, w) float32 in {0, 1}: 1 where a latent cell counts as covered by the guidance.

    Conservative: a cell is covered only if at least `min_coverage` of its pixels (over all the frames it
    encodes) are covered, then the covered set is eroded by `erode` cells, so the model, not a half-empty
    guidance cell, decides the content near hole borders.
    """
    if not 0.0 < min_coverage <= 1.0:
        raise InputError(f"min_coverage must be in (0, 1], got {min_coverage}")
    covered = (latent_coverage(mask, temporal, spatial) >= min_coverage - 1e-6).astype(np.float32)
    return erode_cells(covered, erode)


def fill_holes(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames whose uncovered pixels hold a smooth push-pull fill of the covered colours.

    Only a starting point for the encoder (the model repaints the holes); a frame with no covered pixel
    becomes mid grey.
    """
    rgb = np.asarray(rgb)
    mask = np.asarray(mask, dtype=bool)
    out = np.empty_like(rgb)
    for i in range(len(rgb)):
        filled = _push_pull(rgb[i].astype(np.float32), mask[i].astype(np.float32))
        out[i] = np.where(mask[i][..., None], rgb[i], np.clip(np.rint(filled), 0, 255).astype(rgb.dtype))
    return out


def _push_pull(color: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(H, W, 3) colour with holes (weight 0) filled from a pyramid of weighted averages."""
    if weight.sum() == 0:
        return np.full_like(color, 127.5)
    if min(weight.shape) <= 1 or weight.min() > 0:
        return color
    h, w = weight.shape
    ph, pw = h + h % 2, w + w % 2
    cw = np.pad(color * weight[..., None], ((0, ph - h), (0, pw - w), (0, 0)))
    ww = np.pad(weight, ((0, ph - h), (0, pw - w)))
    sum_c = cw.reshape(ph // 2, 2, pw // 2, 2, 3).sum(axis=(1, 3))
    sum_w = ww.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    coarse_w = np.minimum(sum_w, 1.0)
    coarse_c = np.where(sum_w[..., None] > 0, sum_c / np.maximum(sum_w, 1e-8)[..., None], 0.0)
    coarse = _push_pull(coarse_c, coarse_w)
    up = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:h, :w]
    return np.where(weight[..., None] > 0, color, up)


def blend(current, guide, mask):
    """`mask * guide + (1 - mask) * current` (numpy or torch; `mask` broadcasts, 1 = keep the guide)."""
    return mask * guide + (1 - mask) * current


def start_step(num_steps: int, strength: float) -> int:
    """Index of the first denoising step run for a video-to-video `strength` in (0, 1].

    strength 1 runs every step from pure noise; smaller values skip the noisiest steps (SDEdit), always
    running at least one.
    """
    if num_steps < 1:
        raise InputError(f"steps must be at least 1, got {num_steps}")
    if not 0.0 < strength <= 1.0:
        raise InputError(f"strength must be in (0, 1], got {strength}")
    run = min(max(int(num_steps * strength), 1), num_steps)
    return num_steps - run


def tied_steps(num_run: int, tie_until: float) -> int:
    """How many of the `num_run` steps blend the guidance in (`tie_until` = fraction of them, from the start)."""
    if not 0.0 <= tie_until <= 1.0:
        raise InputError(f"tie_until must be in [0, 1], got {tie_until}")
    return int(round(num_run * tie_until))


def to_unit_range(rgb: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float32 in [-1, 1] (the video VAEs' input layout)."""
    return (np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0).transpose(3, 0, 1, 2)


def from_unit_range(video: np.ndarray) -> np.ndarray:
    """(3, T, H, W) float in [-1, 1] -> (T, H, W, 3) uint8."""
    return np.clip(
        np.rint((np.asarray(video, dtype=np.float32).transpose(1, 2, 3, 0) + 1.0) * 127.5), 0, 255
    ).astype(np.uint8)


# -- shared initial noise for the views of a rig -------------------------------------------------------------
#
# Views of one rig see the same 3D content. Starting each view's denoising from noise that agrees where the views
# see the same surface (and is fresh elsewhere) gives the model the same "random" start for the same content in
# every view. The geometry: every latent cell of a view is represented by one 3D point (the covered pixel nearest
# the cell's centre, unprojected through the guidance depth); that point is projected into a REFERENCE camera
# (the cache's source camera, or view 0) and quantised on a grid of about one latent cell there; each grid cell
# (at a given latent frame: views are synchronised) owns one i.i.d. Gaussian vector. Transfer is nearest-sample
# (a cell copies one grid cell's vector, never an average), so every value stays exactly N(0, 1); cells without a
# covered pixel, or whose point is behind the reference camera, get fresh noise.


def representative_frames(num_frames: int, temporal: int) -> list[list[int]]:
    """Per latent frame, its pixel frames ordered by distance to the group's middle (the first is the one used;
    the others are fallbacks for cells uncovered in it)."""
    out = []
    for g in latent_frame_groups(num_frames, temporal):
        frames = list(range(g.start, g.stop))
        mid = g.start + (g.stop - g.start - 1) // 2
        out.append(sorted(frames, key=lambda f, mid=mid: (abs(f - mid), f)))
    return out


def cell_points(
    depth: np.ndarray,
    intrinsics: np.ndarray,
    world_from_camera: np.ndarray,
    temporal: int,
    spatial: int,
) -> tuple[np.ndarray, np.ndarray]:
    """((t, h, w, 3) float64 world points, (t, h, w) bool valid): the 3D point each latent cell of a view sees.

    `depth` (T, H, W) z-depth, 0 = not covered; `intrinsics` (T, 4) or (4,) (fx, fy, cx, cy), pixel centres at
    integer + 0.5; `world_from_camera` (T, 4, 4) or (4, 4). A cell's point is its covered pixel nearest to the
    cell's centre in the latent frame's middle pixel frame (then in the group's other frames, nearest first);
    a cell with no covered pixel in any of its frames is invalid.
    """
    depth = np.asarray(depth, dtype=np.float64)
    n, height, width = _video_shape("guidance depth", depth, spatial)
    intr = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (n, 4))
    poses = np.broadcast_to(np.asarray(world_from_camera, dtype=np.float64), (n, 4, 4))
    h, w = height // spatial, width // spatial
    off = np.arange(spatial) + 0.5 - spatial / 2.0
    dist = (off[:, None] ** 2 + off[None, :] ** 2).reshape(
        -1
    )  # (s*s,) distance of each in-cell pixel to the centre
    groups = representative_frames(n, temporal)
    points = np.zeros((len(groups), h, w, 3))
    valid = np.zeros((len(groups), h, w), bool)
    cy, cx = np.mgrid[0:h, 0:w]
    for j, frames in enumerate(groups):
        for f in frames:
            todo = ~valid[j]
            if not todo.any():
                break
            blocks = depth[f].reshape(h, spatial, w, spatial).transpose(0, 2, 1, 3).reshape(h, w, -1)
            score = np.where(blocks > 0, dist, np.inf)
            pick = score.argmin(axis=-1)
            ok = np.isfinite(np.take_along_axis(score, pick[..., None], -1)[..., 0]) & todo
            if not ok.any():
                continue
            z = np.take_along_axis(blocks, pick[..., None], -1)[..., 0]
            u = cx * spatial + pick % spatial + 0.5
            v = cy * spatial + pick // spatial + 0.5
            fx, fy, ppx, ppy = intr[f]
            cam = np.stack([(u - ppx) / fx * z, (v - ppy) / fy * z, z], axis=-1)
            world = cam @ poses[f, :3, :3].T + poses[f, :3, 3]
            points[j][ok] = world[ok]
            valid[j] |= ok
    return points, valid


def reference_cells(
    points: np.ndarray,
    valid: np.ndarray,
    ref_intrinsics: np.ndarray,
    ref_world_from_camera: np.ndarray,
    pitch: float,
    frames: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """((t, h, w, 3) int64 keys (latent frame, row, column), (t, h, w) bool valid): the reference grid cell each
    cell's point falls in.

    The grid is the reference camera's image plane cut into `pitch`-pixel squares, unbounded (points outside its
    frame get cells beyond its border, so views can share content the reference does not frame). `ref_intrinsics`
    (4,) or (T, 4) and `ref_world_from_camera` (4, 4) or (T, 4, 4): a static reference, or one per pixel frame,
    of which latent frame j uses pixel frame `frames[j]` (a one-frame reference is static). Points at or behind
    the reference camera are invalid.
    """
    points = np.asarray(points, dtype=np.float64)
    t = points.shape[0]
    intr = np.asarray(ref_intrinsics, dtype=np.float64)
    poses = np.asarray(ref_world_from_camera, dtype=np.float64)
    if intr.ndim == 1 or len(intr) == 1:
        intr = np.broadcast_to(intr.reshape(4), (t, 4))
    elif frames is not None:
        intr = intr[frames]
    if poses.ndim == 2 or len(poses) == 1:
        poses = np.broadcast_to(poses.reshape(4, 4), (t, 4, 4))
    elif frames is not None:
        poses = poses[frames]
    if len(intr) != t or len(poses) != t:
        raise InputError(f"reference camera: need 1 or one pose per latent frame ({t}), got {len(poses)}")
    if not pitch > 0:
        raise InputError(f"reference grid pitch must be positive, got {pitch}")
    rot = poses[:, :3, :3]
    cam = np.einsum("tji,thwj->thwi", rot, points - poses[:, None, None, :3, 3])  # R^T (x - c)
    z = cam[..., 2]
    ok = np.asarray(valid, bool) & (z > 1e-9)
    zs = np.where(ok, z, 1.0)
    u = intr[:, None, None, 0] * cam[..., 0] / zs + intr[:, None, None, 2]
    v = intr[:, None, None, 1] * cam[..., 1] / zs + intr[:, None, None, 3]
    ok &= np.isfinite(u) & np.isfinite(v)
    keys = np.zeros((*z.shape, 3), np.int64)
    keys[..., 0] = np.arange(t)[:, None, None]
    keys[..., 1] = np.where(ok, np.floor(v / pitch), 0).astype(np.int64)
    keys[..., 2] = np.where(ok, np.floor(u / pitch), 0).astype(np.int64)
    return keys, ok


def noise_from_cells(
    keys: list[np.ndarray], valid: list[np.ndarray], channels: int, seed: int = 0
) -> list[np.ndarray]:
    """Per view a (channels, t, h, w) float32 standard-normal noise: cells with equal keys (across and within
    views) get the same vector, invalid cells fresh i.i.d. vectors. Deterministic in `seed` and the keys."""
    rng = np.random.default_rng(seed)
    flat = [k[v] for k, v in zip(keys, valid, strict=True)]
    allkeys = np.concatenate(flat) if flat else np.zeros((0, 3), np.int64)
    uniq, inverse = np.unique(allkeys, axis=0, return_inverse=True)
    table = rng.standard_normal((len(uniq), channels)).astype(np.float32)
    inverse = inverse.reshape(-1)
    out, start = [], 0
    for v in valid:
        noise = rng.standard_normal((*v.shape, channels)).astype(np.float32)  # (t, h, w, C): holes
        count = int(v.sum())
        noise[v] = table[inverse[start : start + count]]
        start += count
        out.append(np.ascontiguousarray(noise.transpose(3, 0, 1, 2)))
    return out


def shared_view_noise(
    views,
    channels: int,
    temporal: int,
    spatial: int,
    seed: int = 0,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
    pitch: float | None = None,
) -> np.ndarray:
    """(V, channels, t, h, w) float32 initial latent noise for V synchronised views, equal where they see the
    same 3D point (to one reference-grid cell), fresh i.i.d. N(0, 1) elsewhere.

    `views`: an iterable (read lazily, one view at a time) of (depth (T, H, W), intrinsics (T, 4) or (4,),
    world_from_camera (T, 4, 4) or (4, 4)). `reference`: (intrinsics, world_from_camera) of the camera whose
    image plane holds the noise grid (static or per pixel frame); None = view 0's own cameras. `pitch`: grid
    square in reference pixels; None = `spatial * reference fx / view 0's fx`, so a grid square covers about
    one latent cell of the views (exactly one of view 0's cells when view 0 is the reference).
    """
    keys, valid = [], []
    frames = None
    for depth, intr, pose in views:
        depth = np.asarray(depth)
        if frames is None:
            frames = [g[0] for g in representative_frames(depth.shape[0], temporal)]
            if reference is None:
                reference = (intr, pose)
            if pitch is None:
                ref_fx = float(np.median(np.asarray(reference[0], dtype=np.float64).reshape(-1, 4)[:, 0]))
                view_fx = float(np.median(np.asarray(intr, dtype=np.float64).reshape(-1, 4)[:, 0]))
                pitch = spatial * ref_fx / view_fx
        pts, ok = cell_points(depth, intr, pose, temporal, spatial)
        k, ok = reference_cells(pts, ok, reference[0], reference[1], pitch, frames)
        keys.append(k)
        valid.append(ok)
    if not keys:
        raise InputError("shared noise: no views given")
    return np.stack(noise_from_cells(keys, valid, channels, seed))
