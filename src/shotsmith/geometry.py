"""Depth-map geometry: intrinsics, unprojection, flying-pixel filtering, scene-unit normalisation.

Pure functions, arrays in and arrays out; nothing here reads files or knows a workspace (EXIF parsing is the
exception that proves the rule: it takes an already-opened PIL image). Conventions are those of
docs/CONVENTIONS.md: OpenCV camera axes (x right, y down, z forward), z-depth (not ray length), 0 = invalid,
intrinsics `(fx, fy, cx, cy)` in pixels with pixel centres at integer + 0.5, scene units with 1.0 = the median
valid depth of the source view.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from shotsmith.camera import DEFAULT_HFOV_DEG, default_intrinsics
from shotsmith.errors import InputError

#: GEN3C's flying-pixel threshold: (max - min) / mean of depth over a 5x5 window must stay below it.
DEFAULT_FILTER_THRESHOLD = 0.05
#: Window of the flying-pixel test (GEN3C: 5x5).
FILTER_WINDOW = 5
#: Diagonal of a 36x24 mm film frame; 35 mm-equivalent focal lengths are defined against it here.
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)

FovSource = Literal["user", "exif", "model", "default"]


# ---------------------------------------------------------------------------------------------------------------
# Intrinsics


def focal_px_from_35mm(focal_35mm: float, width: int, height: int) -> float:
    """Focal length in pixels from a 35 mm-equivalent focal length (EXIF FocalLengthIn35mmFilm).

    The equivalence is taken on the diagonal (a 43.27 mm full-frame diagonal maps onto the image diagonal), which
    stays right for 4:3, 3:2 and 16:9 sensors alike.
    """
    if not (focal_35mm > 0 and math.isfinite(focal_35mm)):
        raise InputError(f"35 mm-equivalent focal length must be positive, got {focal_35mm}")
    return float(focal_35mm) * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM


def exif_focal_35mm(image) -> float | None:
    """The 35 mm-equivalent focal length (mm) recorded in a PIL image's EXIF, or None.

    Uses FocalLengthIn35mmFilm (0xA405); failing that, FocalLength (0x920A) times the crop factor derived from
    FocalPlaneXResolution (0xA20E) and the resolution unit, when all are present.
    """
    try:
        exif = image.getexif()
        sub = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 - a malformed EXIF block is simply no EXIF
        return None
    f35 = sub.get(0xA405) or exif.get(0xA405)
    try:
        if f35 and float(f35) > 0:
            return float(f35)
        focal = sub.get(0x920A)
        xres = sub.get(0xA20E)
        unit = {2: 25.4, 3: 10.0, 4: 1.0}.get(int(sub.get(0xA210, 2)))
        width = image.size[0]
        if focal and xres and unit and float(xres) > 0:
            sensor_width_mm = width / float(xres) * unit
            height_mm = sensor_width_mm * image.size[1] / width
            crop = FULL_FRAME_DIAGONAL_MM / math.hypot(sensor_width_mm, height_mm)
            value = float(focal) * crop
            return value if value > 0 and math.isfinite(value) else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def choose_intrinsics(
    width: int,
    height: int,
    fov_deg: float | None = None,
    focal_35mm: float | None = None,
    model_intrinsics: np.ndarray | None = None,
) -> tuple[np.ndarray, FovSource]:
    """(4,) intrinsics at `width` x `height` and where they came from.

    Priority: the user's horizontal `fov_deg`, then an EXIF 35 mm-equivalent focal length, then intrinsics the
    depth model estimated (already in pixels at this size), then the default 60 degree horizontal FOV.
    """
    if fov_deg is not None:
        return default_intrinsics(width, height, fov_deg), "user"
    if focal_35mm is not None and focal_35mm > 0:
        f = focal_px_from_35mm(focal_35mm, width, height)
        return np.array([f, f, width / 2.0, height / 2.0]), "exif"
    if model_intrinsics is not None:
        k = np.asarray(model_intrinsics, dtype=np.float64).reshape(4)
        if np.isfinite(k).all() and (k[:2] > 0).all():
            return k, "model"
    return default_intrinsics(width, height, DEFAULT_HFOV_DEG), "default"


# ---------------------------------------------------------------------------------------------------------------
# Unprojection and projection


def pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 u and v of pixel centres (integer + 0.5)."""
    u = np.arange(width, dtype=np.float32) + 0.5
    v = np.arange(height, dtype=np.float32) + 0.5
    return np.broadcast_to(u[None, :], (height, width)), np.broadcast_to(v[:, None], (height, width))


def pixel_ray(col: int, row: int, intrinsics) -> np.ndarray:
    """(3,) camera-space point at z = 1 through the centre of pixel (col, row) (pixel centres at +0.5)."""
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    return np.array([(col + 0.5 - cx) / fx, (row + 0.5 - cy) / fy, 1.0])


def unproject_depth(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 camera-space points of a (H, W) z-depth map (pixel centres at +0.5).

    X = z (u - cx) / fx, Y = z (v - cy) / fy, Z = z. Invalid pixels (depth 0) give the origin.
    """
    depth = np.asarray(depth, dtype=np.float32)
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    h, w = depth.shape
    u, v = pixel_grid(w, h)
    out = np.empty((h, w, 3), dtype=np.float32)
    out[..., 0] = (u - np.float32(cx)) * np.float32(1.0 / fx) * depth
    out[..., 1] = (v - np.float32(cy)) * np.float32(1.0 / fy) * depth
    out[..., 2] = depth
    return out


def project_points(points: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, 2) pixel coordinates (u, v) and (P,) z of (P, 3) camera-space points; pixel index = floor(u, v)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    fx, fy, cx, cy = np.asarray(intrinsics, dtype=np.float64).reshape(4)
    z = p[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = np.stack([fx * p[:, 0] / z + cx, fy * p[:, 1] / z + cy], axis=1)
    return uv, z


def transform_points(dst_from_src: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(..., 3) points mapped by a (4, 4) rigid or affine transform (the dtype of the product is kept)."""
    m = np.asarray(dst_from_src)
    return np.asarray(points) @ m[:3, :3].T + m[:3, 3]


def point_footprint_radius(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Per-point world-space footprint = z / fx: the spacing between neighbouring pixels' points at depth z,
    i.e. the width one source pixel covers there (same shape as `depth`, float32).

    The renderer splats each point with a screen radius of `footprint * f_target / z_target` so a continuous
    surface stays hole-free when the camera moves closer.
    """
    fx = float(np.asarray(intrinsics).reshape(4)[0])
    return (np.asarray(depth, dtype=np.float32) / np.float32(fx)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Validity, filtering, normalisation


def sanitize_depth(depth: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W) float32 depth with NaN, +-inf and values <= 0 set to 0 (invalid), and how many were changed."""
    d = np.asarray(depth, dtype=np.float32)
    bad = ~np.isfinite(d) | (d <= 0)
    count = int(np.count_nonzero(bad & (d != 0)))
    if bad.any():
        d = np.where(bad, np.float32(0.0), d)
    return d, count


def flying_pixel_mask(
    depth: np.ndarray, threshold: float = DEFAULT_FILTER_THRESHOLD, window: int = FILTER_WINDOW
) -> np.ndarray:
    """(H, W) bool: True where a point is reliable (GEN3C's `reliable_depth_mask_range`).

    Keeps pixels whose depth is > 0 and whose `window` x `window` neighbourhood has (max - min) / mean below
    `threshold`; pixels at depth discontinuities ("flying pixels" between a foreground and a background) and
    next to invalid pixels are dropped. Windows are clipped at the image border (nothing is padded in).
    A threshold <= 0 keeps every valid pixel (filter off).
    """
    import cv2

    d = np.asarray(depth, dtype=np.float32)
    valid = d > 0
    if threshold <= 0:
        return valid
    kernel = np.ones((window, window), np.uint8)
    # dilate/erode ignore pixels outside the image; 0-depth neighbours pull the minimum to 0 -> dropped.
    dmax = cv2.dilate(d, kernel, borderType=cv2.BORDER_REPLICATE)
    dmin = cv2.erode(d, kernel, borderType=cv2.BORDER_REPLICATE)
    dmean = cv2.blur(d, (window, window), borderType=cv2.BORDER_REPLICATE)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (dmax - dmin) / dmean
    return valid & (dmean > 0) & (ratio < threshold)


def side_consistent_mask(
    depth: np.ndarray, threshold: float = DEFAULT_FILTER_THRESHOLD, window: int = FILTER_WINDOW
) -> np.ndarray:
    """(H, W) bool: True where a pixel's depth belongs to one side of whatever its `window` x `window`
    neighbourhood holds: within `threshold / 2` (relative) of the window's nearest or of its farthest valid depth.

    On a smooth surface this is GEN3C's rule (a ramp of relative slope g per pixel passes both when 4 g is below
    the threshold), but at a sharp depth step both sides are kept: only the pixels in between (a blurred edge's
    flying pixels, stretched between the two surfaces) are dropped. Beyond the image border the log-depth is
    extrapolated linearly, so a border pixel of a steep slope is judged like the slope's other pixels. Invalid
    neighbours are ignored; invalid pixels are dropped. A threshold <= 0 keeps every valid pixel.
    Scale-invariant."""
    import cv2

    d = np.asarray(depth, dtype=np.float32)
    valid = d > 0
    if threshold <= 0:
        return valid
    r = window // 2
    big = np.float32(1e6)
    with np.errstate(divide="ignore"):
        log_d = np.log(np.where(valid, d, np.float32(1))).astype(np.float32)

    def padded(x: np.ndarray) -> np.ndarray:  # linear extrapolation: x(-k) = 2 x(0) - x(k)
        rep = cv2.copyMakeBorder(x, r, r, r, r, cv2.BORDER_REPLICATE)
        return 2 * rep - cv2.copyMakeBorder(x, r, r, r, r, cv2.BORDER_REFLECT_101)

    kernel = np.ones((window, window), np.uint8)
    inner = (slice(r, r + d.shape[0]), slice(r, r + d.shape[1]))
    near = cv2.erode(padded(np.where(valid, log_d, big)), kernel)[inner]
    far = cv2.dilate(padded(np.where(valid, log_d, -big)), kernel)[inner]
    gap = np.minimum(log_d - near, far - log_d)
    return valid & (gap < threshold / 2.0)


def snap_flying_pixels(
    depth: np.ndarray,
    rgb: np.ndarray,
    threshold: float = DEFAULT_FILTER_THRESHOLD,
    window: int = FILTER_WINDOW,
    reach: int = 6,
) -> tuple[np.ndarray, np.ndarray]:
    """(depth, keep): flying pixels moved onto the surface whose colour they continue, and what is reliable.

    A depth map from a network blurs a depth step into a ramp; the pixels on it lie between the two surfaces
    (`side_consistent_mask` drops them). Those within `reach` pixels of kept ones take the depth of a kept pixel
    by a marker watershed on the photo's colour gradient (CIELAB, `rgb` (H, W, 3) uint8): each side's surface is
    extended up to the colour edge between them, so the step lands on the photo's edge, one pixel sharp. Pixels
    farther from any kept one (a steep surface, not an edge) stay dropped, as do any that still fail the rule
    afterwards. Returns the new (H, W) float32 depth (0 where dropped) and the (H, W) bool kept mask."""
    import cv2
    from skimage.segmentation import watershed

    d = np.asarray(depth, dtype=np.float32)
    keep = side_consistent_mask(d, threshold, window)
    valid = d > 0
    todo = valid & ~keep
    if threshold <= 0 or not todo.any() or not keep.any():
        return np.where(keep, d, np.float32(0)), keep
    dist = cv2.distanceTransform((~keep).astype(np.uint8), cv2.DIST_L2, 3)
    region = valid & (dist <= reach)
    lab = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8), cv2.COLOR_RGB2LAB).astype(
        np.float32
    )
    lab = cv2.GaussianBlur(lab, (0, 0), 0.7)
    gx, gy = cv2.Sobel(lab, cv2.CV_32F, 1, 0), cv2.Sobel(lab, cv2.CV_32F, 0, 1)
    grad = np.sqrt((gx * gx + gy * gy).sum(axis=2))
    seeds = keep & region & (cv2.dilate(todo.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    markers = np.zeros(d.shape, np.int64)
    markers[seeds] = np.flatnonzero(seeds.ravel()) + 1
    labels = watershed(grad, markers, mask=(seeds | (todo & region)))
    take = todo & region & (labels > 0)
    out = np.where(keep, d, np.float32(0))
    out[take] = d.ravel()[labels[take] - 1]
    keep = side_consistent_mask(out, threshold, window)
    return np.where(keep, out, np.float32(0)).astype(np.float32), keep


def median_valid_depth(depth: np.ndarray) -> float:
    """Median of the valid (> 0, finite) depths; raises InputError when there are none."""
    d = np.asarray(depth)
    valid = d[np.isfinite(d) & (d > 0)]
    if valid.size == 0:
        raise InputError("the depth map has no valid pixel (all are 0, negative, NaN or infinite)")
    return float(np.median(valid))


#: The subject is looked for in the central box covering this fraction of the width and of the height.
SUBJECT_BOX = 0.5


def subject_depth(depth: np.ndarray, box: float = SUBJECT_BOX) -> float:
    """Distance of the subject: the median valid depth inside the central box (`box` of the width and height),
    or of the whole view when fewer than 1 % of the box's pixels are valid.

    The central box rather than the whole view, so that a portrait in front of a wall that fills most of the
    frame gets its subject at 1.0 (the whole-view median there is the wall, and "dolly in halfway to the
    subject" would fly into the person). On views whose depth is uniform the two agree.
    """
    d = np.asarray(depth)
    h, w = d.shape[:2]
    y0, y1 = int(h * (1 - box) / 2), int(math.ceil(h * (1 + box) / 2))
    x0, x1 = int(w * (1 - box) / 2), int(math.ceil(w * (1 + box) / 2))
    centre = d[y0:y1, x0:x1]
    valid = centre[np.isfinite(centre) & (centre > 0)]
    if valid.size >= max(1, 0.01 * centre.size):
        return float(np.median(valid))
    return median_valid_depth(d)


def normalize_depth(depth: np.ndarray) -> tuple[np.ndarray, float]:
    """Depth in scene units (subject depth = 1.0, `subject_depth`) and the scale s with
    backend_depth = s * scene_depth."""
    d, _ = sanitize_depth(depth)
    s = subject_depth(d)
    return (d / np.float32(s)).astype(np.float32), s


def cache_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """(width, height) no larger than the input with width * height <= max_pixels, aspect kept (rounded)."""
    if width * height <= max_pixels:
        return width, height
    s = math.sqrt(max_pixels / (width * height))
    w = max(1, int(width * s))
    h = max(1, int(height * s))
    return w, h


def resize_depth(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width) float32 resize of a z-depth map that never blends a valid depth with an invalid one.

    Valid pixels are averaged with area/bilinear weights normalised by the valid weight; a target pixel is
    invalid where less than half of its support was valid.
    """
    import cv2

    d = np.asarray(depth, dtype=np.float32)
    if d.shape == (height, width):
        return d.copy()
    valid = (d > 0).astype(np.float32)
    shrinking = width < d.shape[1] and height < d.shape[0]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    num = cv2.resize(d * valid, (width, height), interpolation=interp)
    den = cv2.resize(valid, (width, height), interpolation=interp)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den >= 0.5, num / np.maximum(den, 1e-12), 0.0)
    return out.astype(np.float32)
