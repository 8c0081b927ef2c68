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
6. **A salient figure is one layer** (`figure_mask`, `figure_layers`), only with strong evidence (clearly more
   salient than the rest, not made of the rest's colours): a boundary-connectivity saliency (Zhu et al. 2014)
   seeds GrabCut (seeded: the same photo gives the same mask); the figure found stands on its contact line as
   one smooth layer with a gentle bulge, and when it runs off the bottom edge (portraits, close-ups) the rest of
   the photo becomes a backdrop behind it, 1.6-3x its depth.
7. **Smooth where unsure** (`smooth_unsure`, `cap_slope`): segment boundaries are not trusted as depth edges
   (wood grain, clouds, textures): the layout of 1-5 is blurred and its slope capped so that no neighbouring
   pixels of the output differ by more than `max_slope`, which the flying-pixel filter keeps. The figure's
   silhouette is the one depth break, composed at full resolution (the mask upsampled with a guided filter
   steered by the photo): one pixel sharp, with no in-between depths.

Output is a relative z-depth (the stage rescales it to 1.0 = median depth). Segmentation runs on a working copy
whose longer side is `work_size` (the figure on one of `figure_size`), composition at full size: ~0.3-0.5 s
for 1 MP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shotsmith.backends.depth.base import DepthBackend, DepthResult, register

PRIOR_VERSION = "3"


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
    unsure_sigma: float = 0.01
    """Where no depth edge is confident (everywhere but a figure's silhouette), the layered depth is smoothed
    with a Gaussian of this fraction of the image diagonal: segment boundaries (wood grain, clouds, textures)
    are not depth edges, and a smooth wrong depth bends where a false edge would tear."""
    max_slope: float = 0.01
    """Largest change of log-depth from a pixel to any of its 8 neighbours (at the output resolution) away from
    a confident edge. A 5x5 flying-pixel window then spans at most 4 such steps (4% < the 5% threshold), so the
    cache keeps every pixel of a smooth surface."""
    figure: bool = True
    """Look for a salient foreground figure (a person, an object) and make it one near, smooth layer."""
    figure_size: int = 224
    """Longer side (pixels) of the copy used for saliency and GrabCut (GrabCut's cost grows fast with size)."""
    figure_segments: int = 250
    """SLIC superpixels for the saliency estimate."""
    figure_bottom_weight: float = 0.3
    """How much touching the bottom border counts as background evidence (top, left and right count 1): figures
    (people, objects on a table) often run off the bottom of the frame."""
    figure_iterations: int = 2
    """GrabCut iterations."""
    figure_contact_window: float = 0.1
    """Width (fraction of the image width) over which a column of the figure takes the lowest contact."""
    figure_prior_keep: float = 0.6
    """Pixels whose saliency prior exceeds this join the figure whatever GrabCut says."""
    figure_close: float = 0.04
    """Gaps up to about twice this fraction of the shorter side are closed inside the figure mask."""
    figure_min_area: float = 0.03
    """A figure must cover at least this fraction of the image ..."""
    figure_max_area: float = 0.75
    """... and at most this fraction."""
    figure_min_contrast: float = 0.4
    """Mean saliency inside the figure minus outside must reach this, else there is no clear figure (the figure's
    silhouette becomes a depth break, so the evidence must be strong)."""
    figure_max_overlap: float = 0.75
    """At most this much of the figure's colour histogram (CIELAB, 8x8x8 bins) may be shared with the rest of the
    photo: a 'figure' made of the background's own colours (a road through snow) is no figure."""
    figure_gap: float = 1.6
    """The background behind a figure is at least this many times the figure's depth (the depth break at the
    silhouette)."""
    figure_max_ratio: float = 3.0
    """When the figure runs off the bottom edge (a portrait, a close-up: no floor visible in front of it), the
    background is put at most this many times the figure's depth (a wall or backdrop, not a horizon)."""
    figure_bulge: float = 0.08
    """How much nearer (log-depth) the figure's interior is than its silhouette: a gentle, smooth bulge."""


@register("prior")
class PriorDepth(DepthBackend):
    """The embedded classical monocular prior (no weights)."""

    name = "prior"
    frame_threads = True  # pure per image; GrabCut, felzenszwalb and SLIC release the GIL

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
    return prior_layers(rgb, settings)[0]


def prior_layers(
    rgb: np.ndarray, settings: PriorSettings | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(depth, figure): the (H, W) float32 relative z-depth of `prior_depth` and the (H, W) bool foreground
    figure mask it used (None when no clear figure was found).

    The layout (ground, standing segments, sky, centre prior) is built on the working copy and is smooth: it is
    blurred where no edge is confident (`unsure_sigma`) and its slope is capped (`max_slope`). The only depth
    break is a figure's silhouette, found with strong evidence, composed at full resolution: one pixel sharp,
    with no in-between depths for the flying-pixel filter to drop."""
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
    log_depth = layered_log_depth(labels, sky, horizon, segment_extents(labels), s)
    if s.center_strength:
        log_depth -= s.center_strength * center_prior(wh, ww) * (~sky)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    figure = None
    if s.figure:
        sky_full = cv2.resize(sky.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        figure = figure_mask(rgb, sky_full, s, grey)
    # the slope cap in working-copy pixels: each of them spans 1 / scale output pixels
    slope = s.max_slope * max(height / wh, width / ww)
    if figure is None:
        bg = cap_slope(smooth_unsure(log_depth, None, s), slope)
        return np.exp(_upsample(bg, width, height)).astype(np.float32), None
    fig_small = cv2.resize(figure.astype(np.float32), (ww, wh), interpolation=cv2.INTER_AREA) > 0.5
    fg, bg, runs_off, _ = figure_layers(log_depth, fig_small, horizon, s)
    bg = cap_slope(smooth_unsure(bg, fig_small, s), slope, exclude=fig_small)
    if runs_off:
        bg = backdrop(bg, fg, fig_small, s)
    fg = cap_slope(fg, slope)
    full = np.where(figure, _upsample(fg, width, height), _upsample(bg, width, height))
    return np.exp(full).astype(np.float32), figure


def _upsample(log_depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width) float32 bilinear resize (smooth fields only: it keeps their slope per output pixel)."""
    import cv2

    if log_depth.shape == (height, width):
        return log_depth.astype(np.float32)
    return cv2.resize(log_depth.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def smooth_unsure(log_depth: np.ndarray, exclude: np.ndarray | None, settings: PriorSettings) -> np.ndarray:
    """(h, w) float32: `log_depth` blurred with a Gaussian of `unsure_sigma` of the diagonal, ignoring the
    `exclude` pixels (a normalised convolution: the figure's depth does not leak into its background, which is
    extended under it instead)."""
    import cv2

    h, w = log_depth.shape
    sigma = max(0.5, settings.unsure_sigma * float(np.hypot(h, w)))
    keep = np.ones((h, w), np.float32) if exclude is None else (~exclude).astype(np.float32)
    if not keep.any():
        keep = np.ones((h, w), np.float32)
    border = cv2.BORDER_REPLICATE
    num = cv2.GaussianBlur(log_depth.astype(np.float32) * keep, (0, 0), sigma, borderType=border)
    den = cv2.GaussianBlur(keep, (0, 0), sigma, borderType=border)
    out = num / np.maximum(den, 1e-6)
    if (den < 1e-3).any():  # far from any kept pixel: fill from the rest
        out = np.where(den < 1e-3, float(np.median(out[den >= 1e-3])), out)
    return out.astype(np.float32)


def cap_slope(log_depth: np.ndarray, slope: float, exclude: np.ndarray | None = None) -> np.ndarray:
    """(h, w) float32 in which any two pixels differ by at most `slope` times their chessboard distance (so all
    8 neighbours of a pixel are within `slope` of it): the mean of the lower and upper `slope`-Lipschitz
    envelopes. Where the input is already that smooth it is unchanged; steeper parts become ramps of that slope
    around the original step. `exclude` pixels (a figure in front) do not constrain anything: they get the
    smooth extension of the rest."""
    import cv2

    x = log_depth.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    c = np.float32(slope)
    lo, hi = x.copy(), x.copy()
    if exclude is not None and exclude.any() and not exclude.all():
        lo[exclude], hi[exclude] = np.float32(1e6), np.float32(-1e6)
    for _ in range(2 * max(x.shape)):  # each pass reaches one ring further; stops once nothing changes
        lo_next = np.minimum(lo, cv2.erode(lo, kernel, borderType=cv2.BORDER_REPLICATE) + c)
        hi_next = np.maximum(hi, cv2.dilate(hi, kernel, borderType=cv2.BORDER_REPLICATE) - c)
        if np.array_equal(lo_next, lo) and np.array_equal(hi_next, hi):
            break
        lo, hi = lo_next, hi_next
    return (0.5 * (lo + hi)).astype(np.float32)


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


def figure_mask(
    rgb: np.ndarray, sky: np.ndarray, settings: PriorSettings, grey: np.ndarray | None = None
) -> np.ndarray | None:
    """(H, W) bool mask of the salient foreground figure of an (H, W, 3) uint8 photo, or None when there is no
    clear one.

    On a copy whose longer side is `figure_size`: SLIC superpixels, a boundary-connectivity saliency
    (`boundary_saliency`), GrabCut initialised from it (`grabcut_figure`), sky removed, specks and small holes
    cleaned. Rejected (None) when too small or too large, or when it is not clearly more salient than the rest.
    The mask is upsampled with a guided filter steered by the photo, so the silhouette follows its edges.
    """
    import cv2
    from scipy import ndimage
    from skimage.segmentation import slic

    height, width = rgb.shape[:2]
    scale = min(1.0, settings.figure_size / max(height, width))
    fh, fw = max(8, round(height * scale)), max(8, round(width * scale))
    if min(fh, fw) < 16:
        return None
    small = cv2.resize(rgb, (fw, fh), interpolation=cv2.INTER_AREA) if (fh, fw) != (height, width) else rgb
    labels = slic(small, n_segments=settings.figure_segments, compactness=10, start_label=0).astype(np.int32)
    if labels.max() < 8:
        return None
    saliency, background = boundary_saliency(small, labels, settings.figure_bottom_weight)
    prior = 0.5 * saliency / max(float(saliency.max()), 1e-6) + 0.5 * (1.0 - background)
    # GrabCut's colour model drops dark or low-contrast parts of a figure (a black collar, a dark helmet) when
    # the background has the same colours, so the clearly salient part of the prior is added back, and gaps
    # narrower than `figure_close` of the shorter side are closed (a collar between a face and a suit).
    mask = grabcut_figure(small, prior, settings.figure_iterations) | (prior > settings.figure_prior_keep)
    sky_small = cv2.resize(sky.astype(np.uint8), (fw, fh), interpolation=cv2.INTER_NEAREST).astype(bool)
    mask &= ~sky_small
    r = max(1, round(settings.figure_close * min(fh, fw)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    m8 = cv2.copyMakeBorder(mask.astype(np.uint8), r, r, r, r, cv2.BORDER_REPLICATE)
    m8 = cv2.morphologyEx(m8, cv2.MORPH_CLOSE, kernel)[r:-r, r:-r]
    mask = cv2.morphologyEx(m8, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool) & ~sky_small
    # Keep the main component(s), fill small holes (a larger gap under an arm stays background).
    comp, n = ndimage.label(mask)
    if n == 0:
        return None
    sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
    keep = np.flatnonzero(sizes >= max(0.1 * sizes.max(), 0.01 * mask.size)) + 1
    mask = np.isin(comp, keep)
    holes = ndimage.binary_fill_holes(mask) & ~mask
    hole_comp, nh = ndimage.label(holes)
    if nh:
        hole_sizes = np.bincount(hole_comp.ravel(), minlength=nh + 1)
        mask |= (hole_sizes < 0.02 * mask.size)[hole_comp] & holes
    area = float(mask.mean())
    if not settings.figure_min_area <= area <= settings.figure_max_area:
        return None
    if float(prior[mask].mean() - prior[~mask].mean()) < settings.figure_min_contrast:
        return None
    if colour_overlap(small, mask) > settings.figure_max_overlap:
        return None
    if (fh, fw) == (height, width):
        return mask
    soft = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    if grey is None:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(1, int(round(1.5 / scale)))
    return guided_filter(grey, soft, radius, 1e-3) > 0.5


def colour_overlap(rgb: np.ndarray, mask: np.ndarray, bins: int = 8) -> float:
    """Histogram intersection (0..1) of the CIELAB colours inside and outside `mask` (bins per channel): 1 when
    the two parts have the same colours, 0 when they share none."""
    import cv2

    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)
    rng = [0, 256, 0, 256, 0, 256]

    def hist(m: np.ndarray) -> np.ndarray:
        h = cv2.calcHist([lab], [0, 1, 2], m.astype(np.uint8), [bins] * 3, rng).ravel()
        return h / max(float(h.sum()), 1.0)

    return float(np.minimum(hist(mask), hist(~mask)).sum())


def boundary_saliency(
    rgb: np.ndarray, labels: np.ndarray, bottom_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel (saliency in [0, 1], background probability in [0, 1]) from superpixels, after Zhu, Liang, Wei &
    Sun, "Saliency optimization from robust background detection" (CVPR 2014).

    A region is background when it is strongly connected to the image border: its boundary connectivity is the
    border length of the superpixels it reaches cheaply (geodesic CIELAB distance) over the square root of the
    area it reaches. The bottom border counts `bottom_weight` (figures run off it). Foreground cues are the
    colour contrast to nearby background superpixels; saliency minimises a least-squares cost with those
    unary terms and a colour-similarity smoothness term between neighbours.
    """
    import cv2
    from scipy import sparse
    from scipy.sparse import csgraph
    from scipy.sparse.linalg import spsolve

    h, w = labels.shape
    n = int(labels.max()) + 1
    flat = labels.ravel()
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    count = np.maximum(np.bincount(flat, minlength=n), 1).astype(np.float64)
    colour = np.stack([np.bincount(flat, weights=lab[:, k], minlength=n) / count for k in range(3)], axis=1)
    yy, xx = np.mgrid[0:h, 0:w]
    cy = np.bincount(flat, weights=yy.ravel(), minlength=n) / count / h
    cx = np.bincount(flat, weights=xx.ravel(), minlength=n) / count / w
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    differ = a != b
    pairs = np.unique(np.sort(np.stack([a[differ], b[differ]], axis=1), axis=1), axis=0)
    i, j = pairs[:, 0], pairs[:, 1]
    d_app = np.linalg.norm(colour[:, None] - colour[None], axis=2)
    border = np.zeros(n)
    for side, weight in (
        (labels[0], 1.0),
        (labels[:, 0], 1.0),
        (labels[:, -1], 1.0),
        (labels[-1], bottom_weight),
    ):
        u = np.unique(side)
        border[u] = np.maximum(border[u], weight)
    # Geodesic distances; border superpixels are joined to each other at (almost) no cost.
    on_border = np.flatnonzero(border > 0)
    bi, bj = np.meshgrid(on_border, on_border)
    upper = bi < bj
    rows = np.concatenate([i, bi[upper]])
    cols = np.concatenate([j, bj[upper]])
    costs = np.concatenate([d_app[i, j] + 1e-6, np.full(int(upper.sum()), 1e-6)])
    graph = sparse.coo_matrix((costs, (rows, cols)), shape=(n, n)).tocsr()
    geodesic = csgraph.shortest_path(graph, directed=False)
    sigma_colour = 10.0
    reach = np.exp(-(geodesic**2) / (2 * sigma_colour**2))
    connectivity = (reach @ border) / np.sqrt(reach.sum(axis=1))
    w_bg = 1.0 - np.exp(-(connectivity**2) / 2.0)
    spatial = np.exp(-((cy[:, None] - cy[None]) ** 2 + (cx[:, None] - cx[None]) ** 2) / (2 * 0.25**2))
    w_fg = (d_app * spatial * w_bg[None]).sum(axis=1)
    w_fg /= max(float(w_fg.max()), 1e-9)
    w_ij = np.exp(-(d_app[i, j] ** 2) / (2 * sigma_colour**2)) + 0.1
    adjacency = sparse.coo_matrix(
        (np.concatenate([w_ij, w_ij]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    ).tocsr()
    laplacian = sparse.diags(np.asarray(adjacency.sum(axis=1)).ravel()) - adjacency
    system = (sparse.diags(w_bg + w_fg) + laplacian).tocsc()
    saliency = np.clip(spsolve(system, w_fg), 0.0, 1.0)
    return saliency[labels], w_bg[labels]


def grabcut_figure(rgb: np.ndarray, prior: np.ndarray, iterations: int) -> np.ndarray:
    """(h, w) bool: OpenCV's GrabCut initialised from a foreground `prior` in [0, 1]: probable foreground where
    it is > 0.5, probable background elsewhere, certain background on the top, left and right border strips where
    it is < 0.3 (never the bottom one: figures run off it)."""
    import cv2

    h, w = prior.shape
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[prior > 0.5] = cv2.GC_PR_FGD
    b = max(2, round(0.02 * min(h, w)))
    strip = np.zeros((h, w), bool)
    strip[:b] = True
    strip[:, :b] = True
    strip[:, -b:] = True
    mask[strip & (prior < 0.3)] = cv2.GC_BGD
    if not (mask == cv2.GC_PR_FGD).any() or (mask == cv2.GC_PR_FGD).all():
        return np.zeros((h, w), bool)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models with k-means from OpenCV's RNG: same photo, same mask. That RNG is
    # per thread (cv::theRNG), so frames in a thread pool (`depth_of_frames`) get the same masks too.
    cv2.setRNGSeed(0)
    cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def figure_layers(
    log_depth: np.ndarray, figure: np.ndarray, horizon: float, settings: PriorSettings
) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """(figure layer, background, runs off the bottom, contact row): the (H, W) float32 log-depth of the
    `figure` (H, W) bool as one smooth near layer, defined everywhere (it is used inside the silhouette), the
    background (`log_depth`, kept), whether the figure runs off the photo's bottom edge, and the (W,) row of
    its contact line per column.

    The figure stands upright on its contact line: per column, the ground depth of its lowest row (the bottom
    of the photo where it runs off the bottom edge), taken over a window of columns and smoothed, so the
    figure's depth varies gently and never steps. Its interior is brought nearer by a smooth bulge
    (`figure_bulge` times a dome profile of the distance to its silhouette; the photo's borders do not count
    as silhouette)."""
    import cv2
    from scipy import ndimage

    height, width = figure.shape
    s = settings
    if not figure.any():
        return log_depth.astype(np.float32), log_depth.astype(np.float32), False, np.zeros(width, np.float32)
    # Contact line: per column, the lowest figure row (over a window of columns, so a raised arm takes the
    # body's contact), interpolated across columns without figure and smoothed, so depth varies gently.
    lowest = np.where(figure.any(axis=0), height - np.argmax(figure[::-1], axis=0), -1).astype(np.float64)
    lowest = ndimage.maximum_filter1d(lowest, max(1, round(s.figure_contact_window * width)) | 1)
    have = lowest > 0
    lowest = np.interp(np.arange(width), np.flatnonzero(have), lowest[have])
    margin = max(1, round(0.02 * height))
    lowest = np.where(lowest >= height - margin, float(height), lowest)  # runs off the bottom edge
    lowest = ndimage.gaussian_filter1d(lowest, max(1.0, 0.05 * width), mode="nearest")
    runs_off = bool(figure[-margin:].any())
    contact_log = ground_log_depth(lowest / height - horizon, s).astype(np.float32)  # (W,)
    # Dome profile: distance to the silhouette (the photo's borders are not silhouette: the figure goes on).
    pad = max(height, width) // 4
    padded = cv2.copyMakeBorder(figure.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[pad : pad + height, pad : pad + width]
    u = np.clip(dist / max(float(dist[figure].max()), 1.0), 0.0, 1.0)
    fg = contact_log[None, :] - s.figure_bulge * u * (2.0 - u)
    return fg.astype(np.float32), log_depth.astype(np.float32), runs_off, lowest.astype(np.float32)


def backdrop(bg: np.ndarray, fg: np.ndarray, figure: np.ndarray, settings: PriorSettings) -> np.ndarray:
    """The background behind a figure that runs off the bottom edge (no floor visible in front of it):
    everything else is behind it, mapped smoothly (tanh, order kept) into [`figure_gap`, `figure_max_ratio`]
    times the figure's (median) depth, so the silhouette is a clean depth break."""
    s = settings
    fg_log = float(np.median(fg[figure])) if figure.any() else float(np.median(fg))
    lo = np.float32(fg_log + np.log(s.figure_gap))
    span = max(float(np.log(s.figure_max_ratio / s.figure_gap)), 1e-3)
    return (lo + span * np.tanh(np.maximum(bg - lo, 0.0) / span)).astype(np.float32)


def compose_figure(
    log_depth: np.ndarray, figure: np.ndarray, horizon: float, settings: PriorSettings
) -> np.ndarray:
    """(H, W) float32 log-depth with the `figure` (H, W) bool made one smooth near layer over `log_depth`
    (`figure_layers`; the background becomes a `backdrop` when the figure runs off the bottom edge)."""
    fg, bg, runs_off, _ = figure_layers(log_depth, figure, horizon, settings)
    if runs_off:
        bg = backdrop(bg, fg, figure, settings)
    return np.where(figure, fg, bg).astype(np.float32)


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
