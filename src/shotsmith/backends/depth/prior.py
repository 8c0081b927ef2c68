"""The `prior` depth backend: a classical monocular depth prior that needs no weights (numpy, scipy, scikit-image,
OpenCV). docs/DEPTH.md explains what it assumes and where it fails.

The model of the world, in the spirit of "Automatic Photo Pop-up" (Hoiem, Efros, Hebert 2005):
1. **Sky** is the bright, smooth, blue-or-grey region connected to the top border; it is far away.
2. **A horizon** sits at the lowest sky row (median over the columns that see sky), else at a default row.
3. **A ground plane** fills the image below the horizon, seen by a level camera: depth grows as
   `1 / (rows below the horizon + offset)`, so the bottom of the photo is nearest.
4. **Objects stand on the ground**: the image is cut into superpixels (Felzenszwalb); a segment that reaches
   above the horizon stands upright at the ground depth of its lowest pixel (its contact point), a segment
   entirely below the horizon lies on the ground (per-pixel ground depth), and a segment entirely above the
   horizon (a wall, a tree crown with no visible contact) is put just in front of the sky.
5. **The subject is in the middle**: a gentle centre prior brings the image centre a little nearer.
6. **Depth breaks follow image edges**: the layered log-depth is upsampled to the full image and smoothed with
   a guided filter steered by the photo itself, so depth stays flat inside regions and breaks at their edges.

Output is a relative z-depth (the stage rescales it to 1.0 = median depth). Everything runs on a working copy
whose longer side is `work_size`, except the final guided filter: well under a second for 1 MP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shotsmith.backends.depth import DepthBackend, DepthResult, register

PRIOR_VERSION = "1"


@dataclass
class PriorSettings:
    """Knobs of the classical prior (defaults tuned on ordinary photos; see docs/DEPTH.md)."""

    work_size: int = 320
    """Longer side (pixels) of the working copy used for segmentation and layering."""
    default_horizon: float = 0.4
    """Horizon row as a fraction of the height from the top, when no sky is found."""
    horizon_range: tuple[float, float] = (0.15, 0.7)
    """Limits of the estimated horizon (fractions of the height)."""
    ground_offset: float = 0.12
    """Offset (fraction of the height) in `1 / (rows below horizon + offset)`: limits the near/far ratio of the
    ground to about (1 - horizon + offset) / offset and keeps the ground's depth gradient gentle enough to survive
    the flying-pixel filter."""
    sky_factor: float = 1.6
    """Sky depth relative to the ground depth at the horizon."""
    upright_margin: float = 0.04
    """A segment counts as standing once it reaches this fraction of the height above the horizon."""
    center_strength: float = 0.2
    """How much nearer (in log-depth) the image centre is brought by the subject prior; 0 turns it off."""
    segment_scale: float = 120.0
    """Felzenszwalb's scale (larger = bigger segments)."""
    segment_min_size: int = 60
    """Smallest segment (pixels of the working copy)."""
    smooth_radius: float = 0.002
    """Guided-filter radius as a fraction of the image diagonal (small: it snaps the segment boundaries of the
    working copy onto the full-resolution image edges; a large radius would blur depth breaks into ramps that
    the flying-pixel filter then removes)."""
    smooth_eps: float = 1e-3
    """Guided-filter regularisation (guide in [0, 1]): smaller keeps more image edges."""


@register("prior")
class PriorDepth(DepthBackend):
    """The embedded classical monocular prior (no weights)."""

    name = "prior"

    def __init__(self, settings: PriorSettings | None = None, model: str | None = None) -> None:
        self.settings = settings or PriorSettings()
        self.model = ""

    def version(self) -> str:
        return f"prior {PRIOR_VERSION}"

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        depth = prior_depth(rgb, self.settings)
        return DepthResult(depth=depth, kind="relative", intrinsics=None, mask=depth > 0)


# ---------------------------------------------------------------------------------------------------------------
# The pieces (pure functions)


def prior_depth(rgb: np.ndarray, settings: PriorSettings | None = None) -> np.ndarray:
    """(H, W) float32 relative z-depth of an (H, W, 3) uint8 photo (all pixels valid, > 0)."""
    import cv2

    s = settings or PriorSettings()
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    height, width = rgb.shape[:2]
    scale = min(1.0, s.work_size / max(height, width))
    wh, ww = max(8, round(height * scale)), max(8, round(width * scale))
    small = cv2.resize(rgb, (ww, wh), interpolation=cv2.INTER_AREA) if (wh, ww) != (height, width) else rgb

    labels = segment(small, s)
    sky = sky_mask(small, labels)
    horizon = estimate_horizon(sky, s) / wh  # as a fraction of the height from here on
    # Compose at full resolution from the segment labels (nearest), so depth breaks stay one pixel sharp.
    labels_full = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    sky_full = cv2.resize(sky.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    log_depth = layered_log_depth(labels_full, sky_full, horizon, segment_extents(labels), s)
    if s.center_strength:
        log_depth -= s.center_strength * center_prior(height, width) * (~sky_full)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(1, int(round(s.smooth_radius * float(np.hypot(height, width)))))
    full = guided_filter(grey, log_depth.astype(np.float32), radius, s.smooth_eps)
    return np.exp(full).astype(np.float32)


def segment(rgb: np.ndarray, settings: PriorSettings) -> np.ndarray:
    """(h, w) int labels 0..n-1 of Felzenszwalb superpixels."""
    from skimage.segmentation import felzenszwalb

    labels = felzenszwalb(rgb, scale=settings.segment_scale, sigma=0.8, min_size=settings.segment_min_size)
    return labels.astype(np.int32)


def sky_mask(rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(h, w) bool: segments connected to the top border that are bright, smooth and blue or grey-white.

    A segment qualifies when it touches the top row, its mean brightness is > 0.45, its mean gradient magnitude
    is low, it is blue-ish (b* < -4 in CIELAB) or nearly colourless and bright, and most of it lies in the upper
    half. Sky-like segments reached through other sky segments from the top also count.
    """
    import cv2
    from scipy import ndimage

    h, w = labels.shape
    n = int(labels.max()) + 1
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    light = lab[..., 0] / 255.0
    b_star = lab[..., 2] - 128.0
    a_star = lab[..., 1] - 128.0
    grey = light
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx * gx + gy * gy)
    idx = np.arange(n)
    count = np.maximum(np.bincount(labels.ravel(), minlength=n), 1)

    def mean(x):
        return np.bincount(labels.ravel(), weights=x.ravel(), minlength=n) / count

    rows = np.broadcast_to(np.arange(h, dtype=np.float64)[:, None], (h, w))
    m_light, m_b, m_a, m_grad, m_row = mean(light), mean(b_star), mean(a_star), mean(grad), mean(rows)
    chroma = np.hypot(m_a, m_b)
    colour_ok = (m_b < -4.0) | ((chroma < 10.0) & (m_light > 0.6))
    candidate = (m_light > 0.45) & (m_grad < 0.12) & colour_ok & (m_row < 0.5 * h)
    # Flood from the top border through candidate segments only.
    cand_px = candidate[labels]
    comp, _ = ndimage.label(cand_px)
    top = np.unique(comp[0][comp[0] > 0])
    sky = np.isin(comp, top) & cand_px
    # A region must cover a useful area to be called sky.
    if sky.mean() < 0.01:
        return np.zeros_like(sky)
    del idx
    return sky


def estimate_horizon(sky: np.ndarray, settings: PriorSettings) -> float:
    """Horizon row (float, in working-copy pixels from the top): the median lowest sky row over the columns that
    see sky, when at least a fifth of them do; else `default_horizon`. Clipped to `horizon_range`."""
    h, w = sky.shape
    lo, hi = settings.horizon_range
    cols = sky.any(axis=0)
    if cols.mean() >= 0.2:
        lowest = h - 1 - np.argmax(sky[::-1, :], axis=0)
        horizon = float(np.median(lowest[cols])) + 1.0
    else:
        horizon = settings.default_horizon * h
    return float(np.clip(horizon, lo * h, hi * h))


def ground_log_depth(t: np.ndarray, settings: PriorSettings) -> np.ndarray:
    """log depth of a level camera's ground plane, -log(max(t, 0) + offset), at `t` = distance below the horizon
    in image heights (rows above the horizon get the horizon's depth)."""
    return -np.log(np.maximum(np.asarray(t, dtype=np.float64), 0.0) + settings.ground_offset)


def segment_extents(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: (top, bottom) as fractions of the image height (top edge of its highest row, bottom edge of
    its lowest row)."""
    from scipy import ndimage

    h = labels.shape[0]
    n = int(labels.max()) + 1
    rows = np.broadcast_to(np.arange(h)[:, None], labels.shape)
    index = np.arange(n)
    top = np.asarray(ndimage.minimum(rows, labels, index), dtype=np.float64) / h
    bottom = (np.asarray(ndimage.maximum(rows, labels, index), dtype=np.float64) + 1.0) / h
    return top, bottom


def layered_log_depth(
    labels: np.ndarray,
    sky: np.ndarray,
    horizon: float,
    extents: tuple[np.ndarray, np.ndarray],
    settings: PriorSettings,
) -> np.ndarray:
    """(H, W) float32 log-depth: ground below the horizon, upright segments at the ground depth of their contact
    row, segments with no visible contact just in front of the sky, sky far.

    `labels` (H, W) segment ids, `sky` (H, W) bool, `horizon` a fraction of the height, `extents` the segments'
    (top, bottom) fractions from `segment_extents`.
    """
    height, width = labels.shape
    top, bottom = extents
    t_rows = (np.arange(height, dtype=np.float64) + 0.5) / height - horizon
    ground_rows = ground_log_depth(t_rows, settings)
    horizon_log = float(ground_log_depth(np.zeros(1), settings)[0])
    contact = ground_log_depth(bottom - horizon, settings)
    # How upright each segment is: 0 lying on the ground, 1 standing (reaches the margin above the horizon).
    upright = np.clip((horizon - top) / max(settings.upright_margin, 1e-6), 0.0, 1.0)
    seg_log = np.where(
        bottom <= horizon, horizon_log, contact
    )  # no visible contact: just in front of the sky
    w_up = upright.astype(np.float32)[labels]
    out = w_up * seg_log.astype(np.float32)[labels] + (1.0 - w_up) * ground_rows.astype(np.float32)[:, None]
    sky_log = np.float32(horizon_log + np.log(settings.sky_factor))
    return np.where(sky, sky_log, out).astype(np.float32)


def center_prior(height: int, width: int, sigma: float = 0.3) -> np.ndarray:
    """(h, w) Gaussian bump in [0, 1], 1 at the image centre, `sigma` in image sizes."""
    y = (np.arange(height) + 0.5) / height - 0.5
    x = (np.arange(width) + 0.5) / width - 0.5
    return np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2)).astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (grey guide): `src` smoothed with edges taken from `guide`. (H, W) float32."""
    import cv2

    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

    guide = guide.astype(np.float32)
    src = src.astype(np.float32)
    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)
