"""Pure functions of the embedded `inpaint` generator: layered hole filling and its temporal-stability metric.

Arrays in, arrays out; nothing here knows workspaces or renderers. Camera conventions are those of
docs/CONVENTIONS.md (OpenCV axes, z-depth, pixel centres at integer + 0.5, 0 depth = invalid).

- `background_layer`: the background behind depth edges of the source view (near side of each edge pushed back
  to the far side's depth, its colour inpainted once from the far side).
- `outpaint_canvas`: the source image and depth extended beyond the source frame on a larger canvas.
- `unproject`: pixels of a depth map as world points.
- `push_pull_fill`: a cheap, smooth fill of unknown pixels from known ones (pyramid push-pull).
- `warp_sample`: sample a previous frame at the positions current pixels had there (backward warp by depth).
- `temporal_instability`: mean absolute change of filled pixels between consecutive frames after warping by the
  known camera motion; `per_frame_inpaint`: the naive baseline (cv2.inpaint on each frame independently).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from shotsmith.camera import CameraPath, invert_rigid

# ---------------------------------------------------------------------------------------------------------------
# Geometry helpers


def unproject(
    depth: np.ndarray,
    intrinsics: np.ndarray,
    world_from_camera: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """World points of the pixels of a z-depth map.

    depth (H, W) float, intrinsics (4,) (fx, fy, cx, cy), world_from_camera (4, 4); `mask` (H, W) bool selects
    pixels (default: depth > 0). Returns (points (P, 3) float32 world, pixel indices (P, 2) int as (row, col)).
    """
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    sel = depth > 0 if mask is None else (mask & (depth > 0))
    rows, cols = np.nonzero(sel)
    z = depth[rows, cols].astype(np.float64)
    cam = np.stack([(cols + 0.5 - cx) / fx * z, (rows + 0.5 - cy) / fy * z, z], axis=1)
    m = np.asarray(world_from_camera, dtype=np.float64)
    world = cam @ m[:3, :3].T + m[:3, 3]
    return world.astype(np.float32), np.stack([rows, cols], axis=1)


def warp_sample(
    prev: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    z: np.ndarray,
    cam_now: tuple[np.ndarray, np.ndarray],
    cam_prev: tuple[np.ndarray, np.ndarray],
    prev_depth: np.ndarray | None = None,
    occlusion_tol: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample `prev` where the current pixels (rows, cols) with z-depth `z` were seen by the previous camera.

    prev (H, W, C) or (H, W); rows, cols, z (N,); cameras as (world_from_camera (4, 4), intrinsics (4,)).
    With `prev_depth` (H, W), samples whose previous surface is nearer by more than `occlusion_tol` (relative)
    are marked invalid (they were hidden then). Returns (values (N, C) float32 bilinear, valid (N,) bool).
    """
    h, w = prev.shape[:2]
    m_now, k_now = cam_now
    m_prev, k_prev = cam_prev
    fx, fy, cx, cy = (float(v) for v in k_now)
    z = np.asarray(z, dtype=np.float32)
    prev_from_now = invert_rigid(np.asarray(m_prev)) @ np.asarray(m_now, dtype=np.float64)
    # p = R @ (z * ray) + t, with ray = ((col + 0.5 - cx) / fx, (row + 0.5 - cy) / fy, 1): float32 is plenty here
    rx = ((cols + 0.5 - cx) / fx).astype(np.float32)
    ry = ((rows + 0.5 - cy) / fy).astype(np.float32)
    r_, t_ = prev_from_now[:3, :3].astype(np.float32), prev_from_now[:3, 3].astype(np.float32)
    px = z * (r_[0, 0] * rx + r_[0, 1] * ry + r_[0, 2]) + t_[0]
    py = z * (r_[1, 0] * rx + r_[1, 1] * ry + r_[1, 2]) + t_[1]
    pz = z * (r_[2, 0] * rx + r_[2, 1] * ry + r_[2, 2]) + t_[2]
    safe = np.where(pz > 1e-9, pz, 1.0)
    pfx, pfy, pcx, pcy = (float(v) for v in k_prev)
    u = pfx * px / safe + (pcx - 0.5)
    v = pfy * py / safe + (pcy - 0.5)
    valid = (pz > 1e-9) & (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1) & (z > 0)
    u = np.where(valid, u, 0).astype(np.float32)
    v = np.where(valid, v, 0).astype(np.float32)
    vals = _remap_points(np.asarray(prev, dtype=np.float32), u, v)
    if prev_depth is not None:
        dp = prev_depth[np.clip(np.rint(v).astype(int), 0, h - 1), np.clip(np.rint(u).astype(int), 0, w - 1)]
        valid &= (dp <= 0) | (dp >= pz * (1.0 - occlusion_tol))
    return vals, valid


def _remap_points(src: np.ndarray, u: np.ndarray, v: np.ndarray, row: int = 4096) -> np.ndarray:
    """Bilinear samples (N, C) of src (H, W[, C]) at index coordinates (u, v) (N,) float32 (cv2.remap takes maps
    of fewer than 32767 columns, so the N samples are laid out as rows of `row`)."""
    n = len(u)
    rows = max(1, -(-n // row))
    pad = rows * row - n
    mu = np.pad(u, (0, pad)).reshape(rows, row)
    mv = np.pad(v, (0, pad)).reshape(rows, row)
    out = cv2.remap(src, mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = out.reshape(rows * row, -1)[:n]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Push-pull fill


def colour_depth_stack(rgb: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """(H, W, 4) float32 image of an (H, W, 3) uint8 colour and its (H, W) float32 depth (push-pull fills both)."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    f32 = np.float32
    return cv2.merge(
        [rgb[..., 0].astype(f32), rgb[..., 1].astype(f32), rgb[..., 2].astype(f32), depth.astype(f32)]
    )


def pixels(rgb: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 image (or a crop of one) seen as (H, W) 3-byte pixels, for per-pixel masked copies
    (`np.copyto(pixels(a), pixels(b), where=mask)` is ~3x faster than broadcasting the mask over channels)."""
    return rgb.view(np.dtype((np.void, 3)))[..., 0]


def push_pull_fill(image: np.ndarray, known: np.ndarray, at: tuple | None = None) -> np.ndarray:
    """Fill pixels where `known` is False from the known ones by pyramid push-pull (smooth, deterministic).

    image (H, W) or (H, W, C) float32; known (H, W) bool. Known pixels are returned unchanged. With no known
    pixel at all, the result is zeros. With `at` = (rows, cols) of unknown pixels, only their values are
    returned ((N,) or (N, C)), the same numbers as the whole fill has there: the finest level then only
    upsamples the next one (an unknown pixel has no weight of its own), so it is not composited at all.
    """
    img = np.asarray(image, dtype=np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    w0 = known.astype(np.float32)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    c, w = img * w0[..., None], w0
    while True:
        levels.append((c, w))
        h_, w_ = w.shape
        if h_ <= 1 and w_ <= 1:
            break
        size = (max(1, (w_ + 1) // 2), max(1, (h_ + 1) // 2))
        c = cv2.resize(c, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        w = cv2.resize(w, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0])
    c, w = levels[-1]
    filled = np.where(w[..., None] > 1e-6, c / np.maximum(w[..., None], 1e-6), 0.0).astype(np.float32)
    finest = 1 if at is not None and len(levels) > 1 else 0
    for c, w in reversed(levels[finest:-1]):
        h_, w_ = w.shape
        up = cv2.resize(filled, (w_, h_), interpolation=cv2.INTER_LINEAR).reshape(h_, w_, -1)
        a = np.clip(w, 0.0, 1.0)[..., None]
        colour = c / np.maximum(w[..., None], 1e-6)
        # a * colour + (1 - a) * up, in place (the same float32 operations, fewer full-size temporaries)
        filled = np.multiply(colour, a, out=colour)
        filled += np.multiply(up, 1.0 - a, out=up)
    if at is not None:
        rows, cols = at
        if finest:
            h_, w_ = known.shape
            filled = cv2.resize(filled, (w_, h_), interpolation=cv2.INTER_LINEAR).reshape(h_, w_, -1)
        vals = filled[rows, cols].astype(np.float32, copy=False)
        return vals[:, 0] if squeeze else vals
    out = np.where(known[..., None], img, filled).astype(np.float32, copy=False)
    return out[..., 0] if squeeze else out


# ---------------------------------------------------------------------------------------------------------------
# Layers built once in the source view


@dataclass
class SourceLayer:
    """A set of pixels of a (possibly enlarged) source-view canvas to unproject as a point layer."""

    rgb: np.ndarray
    """(h, w, 3) uint8 colour of the canvas."""
    depth: np.ndarray
    """(h, w) float32 z-depth of the canvas, 0 where none."""
    mask: np.ndarray
    """(h, w) bool pixels that belong to the layer."""
    intrinsics: np.ndarray
    """(4,) (fx, fy, cx, cy) of the canvas (the source camera, principal point shifted for a padded canvas)."""
    fine: np.ndarray | None = None
    """(h, w) bool layer pixels to keep at full resolution when the layer is subsampled (None: all)."""


def depth_edges_near(depth: np.ndarray, tau: float = 0.05, window: int = 5) -> np.ndarray:
    """(H, W) bool: valid pixels on the NEAR side of a depth jump (a pixel within `window` is farther by more
    than a factor 1 + tau). Smooth ramps (floors, walls) do not count: the jump must happen within the window."""
    valid = depth > 0
    d = np.where(valid, depth, 0).astype(np.float32)
    dmax = cv2.dilate(d, np.ones((window, window), np.uint8))
    return valid & (d * (1.0 + tau) < dmax)


def background_layer(
    rgb: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    band_px: int,
    tau: float = 0.05,
    behind: float = 0.01,
    fine_px: int = 8,
) -> SourceLayer:
    """The background hidden behind the depth edges of the source view, as a layer to render behind it.

    rgb (h, w, 3) uint8, depth (h, w) float32 (0 invalid). The near side of every depth jump is marked up to
    `band_px` pixels from the edge (the band); its depth is replaced by the far side's (nearest far-side pixel,
    the local maximum depth across the edge) pushed back by `behind` (relative), and its colour is inpainted once
    (OpenCV Telea) with the whole near side within 2 * band_px + 4 treated as unknown, so band pixels (nearer the
    far side than the foreground's interior) draw their colour from the far side. Invalid pixels next to valid
    ones (flying pixels a cache builder dropped at depth edges) join the layer at the far side's depth, their
    colour inpainted with the band's (their own colour mixes both sides and would ghost). `fine` marks the band within `fine_px` of the edge and those pixels (kept at full resolution).
    """
    h, w = depth.shape
    band_px = max(1, int(band_px))
    intr = np.asarray(intrinsics, float)
    d0 = np.where(depth > 0, depth, 0).astype(np.float32)
    # invalid pixels next to valid ones (flying pixels dropped at depth edges) take the far side's depth
    k = 2 * (band_px + 3) + 1
    far0 = cv2.dilate(d0, np.ones((k, k), np.uint8))
    gap = (d0 <= 0) & (far0 > 0)
    d = np.where(gap, far0, d0).astype(np.float32)
    valid = d > 0
    edges = depth_edges_near(d, tau)
    dist = cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 5)

    def near_within(r: int) -> np.ndarray:
        dmax = cv2.dilate(d, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
        return valid & ~gap & (dist <= r) & (d * (1.0 + tau) < dmax)

    band = near_within(band_px) if edges.any() else np.zeros((h, w), bool)
    if not band.any() and not gap.any():
        return SourceLayer(rgb, np.zeros_like(d), np.zeros((h, w), bool), intr)
    # the far side's depth: the local maximum over a window that reaches across the edge from any band pixel
    far = cv2.GaussianBlur(cv2.dilate(d, np.ones((k, k), np.uint8)), (0, 0), 1.0)
    bg_depth = np.where(band, np.maximum(far, d), np.where(gap, d, 0.0)) * (1.0 + behind)
    unknown = (near_within(2 * band_px + 4) if band.any() else gap) | ~valid | gap
    colour = np.ascontiguousarray(rgb)
    if not unknown.all():
        colour = cv2.inpaint(colour, unknown.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    fine = (dist <= fine_px) | gap
    layer = (band | gap) & (bg_depth > 0)
    return SourceLayer(colour, bg_depth.astype(np.float32), layer, intr, fine)


def wide_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (H, W[, C]) float32/uint8 with a large `sigma`, done at reduced resolution (fast)."""
    factor = int(sigma // 4) if sigma > 8 else 1
    if factor <= 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def outpaint_canvas(
    rgb: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    pads: tuple[int, int, int, int],
    overlap: int = 2,
    fine_px: int = 8,
    behind: float = 0.02,
) -> SourceLayer:
    """The source view extended beyond its borders, on the same camera (a wider field of view).

    rgb (h, w, 3) uint8, depth (h, w) float32 (0 invalid, filled first); `pads` = (left, top, right, bottom)
    pixels. Colour outside the frame is the mirrored image fading into a strongly blurred copy with the distance
    from the border; depth is the border depth propagated outwards and smoothed, pushed back by `behind`. The
    layer is the ring outside the frame plus `overlap` pixels inside it (to close cracks at the border); `fine`
    marks the ring within `fine_px` of the border (kept at full resolution).
    """
    h, w = depth.shape
    left, top, right, bottom = (max(0, int(p)) for p in pads)
    valid = depth > 0
    d = push_pull_fill(depth.astype(np.float32), valid) if not valid.all() else depth.astype(np.float32)
    if (d <= 0).all():
        d = np.ones_like(d)
    reflect = max(left, right) < w and max(top, bottom) < h
    border = cv2.BORDER_REFLECT_101 if reflect else cv2.BORDER_REPLICATE
    ext = cv2.copyMakeBorder(np.ascontiguousarray(rgb), top, bottom, left, right, border)
    big = max(left, top, right, bottom, 1)
    blurred = wide_blur(ext, max(2.0, big / 6.0))
    yy, xx = np.mgrid[0 : h + top + bottom, 0 : w + left + right]
    dx = np.maximum(np.maximum(left - xx, xx - (left + w - 1)), 0)
    dy = np.maximum(np.maximum(top - yy, yy - (top + h - 1)), 0)
    outside = np.maximum(dx, dy).astype(np.float32)
    ramp = max(1.0, 0.5 * big)
    a = np.clip(outside / ramp, 0.0, 1.0)
    colour = np.clip(ext * (1.0 - a[..., None]) + blurred * a[..., None] + 0.5, 0, 255).astype(np.uint8)
    dext = cv2.copyMakeBorder(d, top, bottom, left, right, cv2.BORDER_REPLICATE)
    dsmooth = wide_blur(dext, max(2.0, big / 4.0))
    dcanvas = (dext * (1.0 - a) + dsmooth * a) * (1.0 + behind)
    inner_x = (xx >= left + overlap) & (xx < left + w - overlap)
    inner_y = (yy >= top + overlap) & (yy < top + h - overlap)
    ring = ~(inner_x & inner_y)
    fine = ring & (outside <= fine_px)
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    intr = np.array([fx, fy, cx + left, cy + top])
    return SourceLayer(colour, dcanvas.astype(np.float32), ring, intr, fine)


# ---------------------------------------------------------------------------------------------------------------
# Temporal stability


def temporal_instability(
    video: np.ndarray,
    region: np.ndarray,
    depth: np.ndarray,
    cameras: CameraPath,
    occlusion_tol: float = 0.05,
) -> float:
    """Mean absolute change (0-255 units, averaged over channels) of the `region` pixels between consecutive
    frames after warping the previous frame by the known camera motion.

    video (T, H, W, 3) uint8; region (T, H, W) bool (e.g. the filled pixels); depth (T, H, W) float32 complete
    z-depth of what each frame displays: the guidance depth where it covers, the fill's (or the true) depth in
    the holes (pixels with depth 0 are skipped; so are pixels hidden in the previous frame). A
    video whose fill moves rigidly with the scene scores near its resampling noise; a fill that flickers or
    swims scores higher. Returns NaN when no pixel could be compared.
    """
    total, count = 0.0, 0
    for t in range(1, len(video)):
        rows, cols = np.nonzero(region[t] & (depth[t] > 0))
        if len(rows) == 0:
            continue
        vals, ok = warp_sample(
            video[t - 1],
            rows,
            cols,
            depth[t][rows, cols],
            (cameras.world_from_camera[t], cameras.intrinsics[t]),
            (cameras.world_from_camera[t - 1], cameras.intrinsics[t - 1]),
            prev_depth=depth[t - 1],
            occlusion_tol=occlusion_tol,
        )
        if not ok.any():
            continue
        cur = video[t][rows[ok], cols[ok]].astype(np.float32)
        total += float(np.abs(cur - vals[ok]).mean(axis=1).sum())
        count += int(ok.sum())
    return total / count if count else float("nan")


def per_frame_inpaint(rgb: np.ndarray, mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """The naive baseline: cv2.inpaint (Telea) on every frame independently. rgb (T, H, W, 3) uint8, mask
    (T, H, W) bool covered pixels. Returns (T, H, W, 3) uint8."""
    out = np.empty_like(rgb)
    for t in range(len(rgb)):
        out[t] = cv2.inpaint(
            np.ascontiguousarray(rgb[t]), (~mask[t]).astype(np.uint8), radius, cv2.INPAINT_TELEA
        )
    return out


# ---------------------------------------------------------------------------------------------------------------
# The source view in the first frames (the frame-0 promise)


@dataclass
class SourceViewFrames:
    """The source photo seen from the frames of a path that are (nearly) at the source camera.

    Frame k of the path shows the photo warped into its camera with weight `weight`: 1 where the photo is
    exactly what the camera sees (the frame at the source camera itself), fading to 0 as the camera moves
    away (`fade`) and where the depth is too uncertain to place the photo's pixel (`source_view_frames`)."""

    index: np.ndarray
    """(K,) int indices of the frames with some weight (often just the first few)."""
    rgb: np.ndarray
    """(K, H, W, 3) uint8 the source image seen from those frames."""
    weight: np.ndarray
    """(K, H, W) float32 in [0, 1]: how much of the output pixel is the source image."""
    depth: np.ndarray
    """(K, H, W) float32 z-depth used to place each source pixel (0 where the weight is 0)."""
    fade: np.ndarray
    """(T,) float32 per-frame fade in [0, 1] (1 at the source camera, 0 once the picture has moved `fade_px`)."""

    def __len__(self) -> int:
        return len(self.index)


def _project(points: np.ndarray, world_from_camera: np.ndarray, intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) pixel coordinates (u, v) and (N,) z of (N, 3) world points seen by one camera."""
    m = invert_rigid(np.asarray(world_from_camera, dtype=np.float64))
    p = points @ m[:3, :3].T + m[:3, 3]
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    z = p[:, 2]
    safe = np.where(z > 1e-9, z, 1.0)
    return np.stack([fx * p[:, 0] / safe + cx, fy * p[:, 1] / safe + cy], axis=1), z


def picture_motion(
    cameras: CameraPath,
    reference: tuple[np.ndarray, np.ndarray],
    points: np.ndarray,
    percentile: float = 95.0,
) -> np.ndarray:
    """(T,) how far the picture of each frame has moved from the reference view, in pixels: the `percentile`
    of the distance between where each of `points` (N, 3) world points appears in the frame and in the
    reference camera (world_from_camera (4, 4), intrinsics (4,)) of the same image size. Rotation, zoom and
    translation all count; inf where no point is seen by both."""
    ref_uv, ref_z = _project(points, *reference)
    out = np.full(len(cameras), np.inf)
    for t in range(len(cameras)):
        uv, z = _project(points, cameras.world_from_camera[t], cameras.intrinsics[t])
        ok = (z > 1e-9) & (ref_z > 1e-9)
        if ok.any():
            out[t] = float(np.percentile(np.linalg.norm(uv[ok] - ref_uv[ok], axis=1), percentile))
    return out


def source_canvas(
    source_rgb: np.ndarray, source_intrinsics: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source image at the scale of a `width` x `height` shot: (canvas (h', w', 3) uint8, its intrinsics
    (4,), the reference intrinsics (4,) of the shot at the source camera).

    The reference intrinsics are `camera.fit_intrinsics` ("cover": scaled by s to fill the shot, centred). The
    canvas is the photo resampled with exactly that geometry (PIL's bicubic resize of a fractional box, as
    `PIL.ImageOps.fit` does), extended by whole shot pixels on each side as far as the photo reaches: the
    reference view is exactly `canvas[y0:y0 + height, x0:x0 + width]`, the photo centre-cropped to the shot's
    aspect and resized (`ImageOps.fit(photo, (width, height))`)."""
    from PIL import Image

    from shotsmith.camera import fit_intrinsics

    sh, sw = source_rgb.shape[:2]
    ref = fit_intrinsics(source_intrinsics, (sw, sh), (width, height))
    scale = max(width / sw, height / sh)
    left, top = (sw - width / scale) / 2.0, (sh - height / scale) / 2.0  # the crop box in source pixels
    mx, my = int(np.floor(left * scale + 1e-6)), int(np.floor(top * scale + 1e-6))  # whole shot pixels
    box = (left - mx / scale, top - my / scale, sw - left + mx / scale, sh - top + my / scale)
    box = (max(0.0, box[0]), max(0.0, box[1]), min(float(sw), box[2]), min(float(sh), box[3]))
    size = (width + 2 * mx, height + 2 * my)
    im = Image.fromarray(np.ascontiguousarray(source_rgb[..., :3], dtype=np.uint8))
    canvas = np.asarray(im.resize(size, Image.Resampling.BICUBIC, box=box))
    intr = np.array([ref[0], ref[1], ref[2] + mx, ref[3] + my])
    return canvas, intr, ref


def source_view_frames(
    cameras: CameraPath,
    guidance_mask: np.ndarray,
    guidance_depth: np.ndarray,
    source_rgb: np.ndarray,
    source_depth: np.ndarray,
    source_intrinsics: np.ndarray,
    source_world_from_camera: np.ndarray | None = None,
    object_mask: np.ndarray | None = None,
    fade_px: float = 6.0,
    parallax_px: float = 1.5,
    window: int = 13,
    occlusion_tol: float = 0.03,
) -> SourceViewFrames:
    """The source image placed in the frames of `cameras` that are near the source camera.

    The reference view is the source camera with the shot-size "cover" intrinsics (`source_canvas`): at it, every
    pixel of the photo is known, so a frame there IS the photo resized and centre-cropped. Per frame, `fade` =
    1 - (picture motion / `fade_px`) (`picture_motion` of the source view's points, in shot pixels), clipped to
    [0, 1]. Per pixel of a faded-in frame, the photo is sampled where the pixel's surface lies in the source
    view:

    - covered pixels (`guidance_mask`) use the guidance depth; they get no weight when that surface is nearer
      than the source depth there (by `occlusion_tol`): it is not in the photo (an inserted object);
    - uncovered pixels (the cache dropped them, or the camera sees past it) may lie anywhere between the
      nearest and farthest guidance depth within `window` pixels (else the source view's 2nd..98th depth
      percentiles); their weight falls from 1 to 0 as those two depths place the pixel more than
      `parallax_px` apart in the source view (no translation: no parallax, the photo is exact at any depth);
    - pixels outside the source image and `object_mask` pixels get no weight.

    guidance_mask, guidance_depth (T, H, W); source_rgb (h, w, 3) uint8, source_depth (h, w) (0 = invalid),
    source_intrinsics (4,) at the source's own size, source_world_from_camera (4, 4) (None: identity)."""
    t_, h_, w_ = guidance_mask.shape
    src_pose = np.eye(4) if source_world_from_camera is None else np.asarray(source_world_from_camera, float)
    canvas, canvas_k, ref_k = source_canvas(source_rgb, source_intrinsics, w_, h_)
    sh, sw = source_depth.shape
    valid = source_depth > 0
    step = max(1, int(np.sqrt(valid.sum() / 4096.0)))
    sub = np.zeros_like(valid)
    sub[::step, ::step] = True
    pts, _ = unproject(source_depth, source_intrinsics, src_pose, valid & sub)
    if len(pts) == 0:  # no depth at all: a plane at the subject distance
        pts, _ = unproject(np.ones((sh, sw), np.float32), source_intrinsics, src_pose, sub)
    motion = picture_motion(cameras, (src_pose, ref_k), pts.astype(np.float64))
    fade = np.clip(1.0 - motion / max(fade_px, 1e-9), 0.0, 1.0).astype(np.float32)
    frames = np.flatnonzero(fade > 0)
    k_ = len(frames)
    out_rgb = np.zeros((k_, h_, w_, 3), np.uint8)
    out_w = np.zeros((k_, h_, w_), np.float32)
    out_d = np.zeros((k_, h_, w_), np.float32)
    if k_ == 0:
        return SourceViewFrames(frames, out_rgb, out_w, out_d, fade)
    ch, cw = canvas.shape[:2]
    big = np.float32(1e30)
    # the nearest source surface around each canvas pixel (the photo's own surface there, for the occlusion test)
    r = max(1, int(np.ceil(0.5 * sw / cw)))
    nearest = cv2.erode(
        np.where(valid, source_depth, big).astype(np.float32), np.ones((2 * r + 1,) * 2, np.uint8)
    )
    canvas_depth = cv2.erode(
        cv2.resize(nearest, (cw, ch), interpolation=cv2.INTER_NEAREST), np.ones((3, 3), np.uint8)
    )
    zs = source_depth[valid]
    z_far_all, z_near_all = np.percentile(zs, [98, 2]) if zs.size else (1.0, 1.0)
    src_from_world = invert_rigid(src_pose)
    fx, fy, cx, cy = (float(v) for v in canvas_k)
    cols_c = np.arange(w_, dtype=np.float64) + 0.5  # pixel centres
    rows_c = np.arange(h_, dtype=np.float64) + 0.5
    kernel = np.ones((window, window), np.uint8)

    def to_canvas(t: int, z: np.ndarray, rows=None, cols=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, z) in the canvas of frame t's pixels at depth z: the whole (H, W) frame, or the pixels
        (rows, cols) with z (N,). Element by element (no (H, W, 3) stacks: fresh memory is slow here)."""
        tfx, tfy, tcx, tcy = (float(x) for x in cameras.intrinsics[t])
        if rows is None:
            x = (cols_c[None, :] - tcx) / tfx * z
            y = (rows_c[:, None] - tcy) / tfy * z
        else:
            x = (cols_c[cols] - tcx) / tfx * z
            y = (rows_c[rows] - tcy) / tfy * z
        m = src_from_world @ cameras.world_from_camera[t]
        px = m[0, 0] * x + m[0, 1] * y + m[0, 2] * z + m[0, 3]
        py = m[1, 0] * x + m[1, 1] * y + m[1, 2] * z + m[1, 3]
        pz = m[2, 0] * x + m[2, 1] * y + m[2, 2] * z + m[2, 3]
        safe = np.where(pz > 1e-9, pz, 1.0)
        px *= fx
        px /= safe
        px += cx
        py *= fy
        py /= safe
        py += cy
        return px, py, pz

    for k, t in enumerate(frames):
        covered = np.asarray(guidance_mask[t], bool)
        gd = np.where(covered, np.asarray(guidance_depth[t], np.float32), np.float32(0))
        # A covered pixel's surface is its guidance depth (z_lo = z_hi = z_mid, no spread, weight 1); an
        # uncovered one lies between the nearest and farthest guidance depth around it.
        z_mid = gd.astype(np.float64)
        weight = np.ones((h_, w_), np.float32)
        if not covered.all():
            hi = cv2.dilate(gd, kernel)
            lo = cv2.erode(np.where(gd > 0, gd, big), kernel)
            rr, cc = np.nonzero(~covered)
            hi_o, lo_o = hi[rr, cc], lo[rr, cc]
            local = (hi_o > 0) & (lo_o < big)
            z_lo = np.where(local, lo_o, z_near_all).astype(np.float64)
            z_hi = np.where(local, hi_o, z_far_all).astype(np.float64)
            z_mid[rr, cc] = np.sqrt(z_lo * z_hi)
            au, av, _ = to_canvas(t, z_lo, rr, cc)
            bu, bv, _ = to_canvas(t, z_hi, rr, cc)
            spread = np.hypot(au - bu, av - bv)
            weight[rr, cc] = np.clip(1.0 - spread / max(parallax_px, 1e-9), 0.0, 1.0)
        pu, pv, pz = to_canvas(t, z_mid)
        inside = (pz > 1e-9) & (pu >= 0) & (pu <= cw) & (pv >= 0) & (pv <= ch)
        weight[~inside] = 0.0
        # a covered surface nearer than the photo's own surface there is not in the photo (an inserted object)
        iu = np.clip(np.floor(pu).astype(np.int32), 0, cw - 1)
        iv = np.clip(np.floor(pv).astype(np.int32), 0, ch - 1)
        src_z = canvas_depth[iv, iu]
        hidden = covered & (src_z < big) & (pz < src_z * (1.0 - occlusion_tol))
        weight[hidden] = 0.0
        if object_mask is not None:
            weight[np.asarray(object_mask[t], bool)] = 0.0
        weight *= fade[t]
        mu = np.clip(pu - 0.5, -1, cw).astype(np.float32)
        mv = np.clip(pv - 0.5, -1, ch).astype(np.float32)
        out_rgb[k] = cv2.remap(canvas, mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out_w[k] = weight
        out_d[k] = np.where(weight > 0, z_mid, 0.0)
    return SourceViewFrames(frames, out_rgb, out_w, out_d, fade)


def compose_source_view(video: np.ndarray, sv: SourceViewFrames, inplace: bool = False) -> np.ndarray:
    """(T, H, W, 3) uint8 `video` with the source view blended in: `weight * source + (1 - weight) * video`
    on the frames of `sv` (a frame at the source camera becomes the photo exactly). A copy, `video` kept; with
    `inplace`, a writable uint8 array `video` is blended into and returned (only the frames of `sv` touched)."""
    writable = isinstance(video, np.ndarray) and video.dtype == np.uint8 and video.flags.writeable
    out = video if inplace and writable else np.array(video, dtype=np.uint8, copy=True)
    for k, t in enumerate(sv.index):
        compose_source_frame(out[t], sv, k)
    return out


def compose_source_frame(frame: np.ndarray, sv: SourceViewFrames, k: int) -> None:
    """Blend the source view's k-th frame (shot frame `sv.index[k]`) into the writable (H, W, 3) uint8 `frame`."""
    a = sv.weight[k][..., None]
    mixed = a * sv.rgb[k].astype(np.float32) + (1.0 - a) * frame.astype(np.float32)
    frame[...] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def complete_with_source_view(
    rgb: np.ndarray, mask: np.ndarray, depth: np.ndarray, sv: SourceViewFrames, inplace: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Guidance (rgb (T, H, W, 3), mask (T, H, W), depth) with the pixels whose source weight is 1 taken from
    the source view and marked covered, so a generator sees the photo itself in a frame at the source camera.
    Copies, the inputs kept; `inplace` writes into the inputs and returns them (only the frames of `sv` are
    touched, usually a handful: no copy of the whole video)."""
    if not inplace:
        rgb, mask, depth = rgb.copy(), mask.copy(), depth.copy()
    for k, t in enumerate(sv.index):
        full = sv.weight[k] >= 1.0
        rgb[t][full] = sv.rgb[k][full]
        depth[t][full] = sv.depth[k][full]
        mask[t] |= full
    return rgb, mask, depth
