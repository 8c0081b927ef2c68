"""The embedded `inpaint` generator (CPU, no weights): 3D-consistent hole filling of the guidance.

Covered pixels are kept exactly. Holes are filled from a layered representation built ONCE in the source view
and rendered with the same point renderer as the guidance, so the fill moves with the scene instead of being
re-invented every frame (docs/INPAINT.md):

1. a background layer behind the depth edges of the source view (disocclusions: the near side of each edge is
   pushed back to the far side's depth, its colour inpainted once from the far side);
2. an outpaint canvas: the source image and depth extended beyond the source frame (camera moves that look past
   the photo's borders);
3. both layers rendered along the target cameras and composited under the guidance (z-buffered together);
4. what is still empty gets a push-pull fill blended with the previous output frame warped by depth.

Everything is deterministic; the seed is not needed. The pure parts live in `shotsmith.fill`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from shotsmith.backends.generator import Constraints, GenerateRequest, Generator, register
from shotsmith.console import track
from shotsmith.errors import InputError, check_shape
from shotsmith.fill import (
    SourceLayer,
    background_layer,
    colour_depth_stack,
    outpaint_canvas,
    pixels,
    push_pull_fill,
    unproject,
    warp_sample,
)

VERSION = "layered-fill-1"
#: Frames whose layer renders run ahead of the fill on the background thread.
_PREFETCH = 2


@dataclass
class InpaintSettings:
    """Knobs of the layered fill (defaults suit 832x480 shots)."""

    edge_tau: float = 0.05
    """Relative depth jump (within 5 px) that counts as a depth edge."""
    band_min_px: int = 4
    """Smallest background band behind a depth edge, in source pixels."""
    band_max_frac: float = 0.12
    """Largest band, as a fraction of the source's larger side."""
    band_margin: float = 1.3
    """Band width = this times the widest disocclusion the camera path can open (estimated from its baseline)."""
    pad_min_px: int = 8
    """Smallest outpaint padding, in source pixels."""
    pad_max_frac: float = 1.0
    """Largest outpaint padding on each side, as a fraction of the source size on that axis."""
    ring_step: int = 2
    """The outpaint ring is unprojected at every `ring_step`-th pixel (it is blurry; fewer points, faster)..."""
    band_step: int = 2
    """...and so is the background band (its colour is inpainted, hence smooth)..."""
    fine_px: int = 8
    """...except within this many pixels of the frame border / the depth edge: full resolution (no seams)."""
    footprint: float = 0.75
    """World-space splat radius of a layer point, in source pixels at its depth (times its sampling step)."""
    temporal_blend: float = 0.8
    """Weight of the previous frame (warped by depth) in the final fill of pixels no layer covers."""
    measure: bool = True
    """Measure the temporal instability of the filled pixels (`shotsmith.fill.temporal_instability`)."""
    keep_depth: bool = False
    """Keep the completed (T, H, W) depth of the output in `InpaintGenerator.last_depth` (benchmarks)."""


@dataclass
class InpaintReport:
    """Facts about the last `generate` call (recorded by the stage)."""

    band_px: int = 0
    pad_px: tuple[int, int, int, int] = (0, 0, 0, 0)
    """Outpaint padding (left, top, right, bottom) in source pixels."""
    layer_points: int = 0
    hole_fraction: float = 0.0
    """Fraction of all pixels not covered by the guidance."""
    layer_fraction: float = 0.0
    """Fraction of the hole pixels filled by the rendered layers (the rest by the final fill)."""
    temporal_instability: float = float("nan")
    """Mean absolute change of filled pixels between frames after warping (0-255 units); NaN if not measured."""
    seconds_layers: float = 0.0
    seconds_frames: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["pad_px"] = list(self.pad_px)
        for k in (
            "hole_fraction",
            "layer_fraction",
            "temporal_instability",
            "seconds_layers",
            "seconds_frames",
        ):
            v = d[k]
            d[k] = None if isinstance(v, float) and math.isnan(v) else round(float(v), 4)
        return d


@dataclass
class PointLayers:
    """The layers as one point set ready to render."""

    points: np.ndarray
    """(P, 3) float32 world points."""
    colors: np.ndarray
    """(P, 3) uint8."""
    radius: np.ndarray
    """(P,) float32 world-space splat radius."""


def _render_points(points, colors, world_from_camera, intrinsics, width, height, *, radius=None):
    """The shared point renderer (imported lazily; tests may replace this function)."""
    from shotsmith.render import render_points

    return render_points(points, colors, world_from_camera, intrinsics, width, height, radius=radius)


# ---------------------------------------------------------------------------------------------------------------
# Sizing the layers from the camera path


def _source_pose(request: GenerateRequest) -> np.ndarray:
    """(4, 4) source world_from_camera (identity when the request has none)."""
    m = request.source_world_from_camera
    return np.eye(4) if m is None else np.asarray(m, dtype=np.float64)


def disocclusion_band_px(request: GenerateRequest, s: InpaintSettings) -> int:
    """Band width (source px) wide enough for the largest disocclusion the path opens: f * b * (1/z_near - 1/z_far)
    with b the largest camera distance from the source camera and z_near/z_far the 5th/95th depth percentiles."""
    depth = request.source_depth
    h, w = depth.shape
    vals = depth[depth > 0]
    top = max(s.band_min_px, int(s.band_max_frac * max(h, w)))
    if vals.size == 0:
        return s.band_min_px
    z_near, z_far = np.percentile(vals, [5, 95])
    src = _source_pose(request)
    baseline = float(np.linalg.norm(request.cameras.centers - src[:3, 3], axis=1).max())
    f = float(request.source_intrinsics[0])
    width = f * baseline * (1.0 / max(z_near, 1e-6) - 1.0 / max(z_far, 1e-6)) * s.band_margin
    return int(np.clip(math.ceil(width), s.band_min_px, top))


def outpaint_pad_px(request: GenerateRequest, s: InpaintSettings) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) source pixels the canvas must extend so every target frame's border, seen at
    the near, median and far depth (5th, 50th, 95th percentiles), falls inside it (plus 10%)."""
    depth = request.source_depth
    h, w = depth.shape
    vals = depth[depth > 0]
    zs = np.percentile(vals, [5, 50, 95]) if vals.size else np.array([1.0])
    cams = request.cameras
    W, H = cams.width, cams.height  # noqa: N806 - image sizes
    us = np.array([0, W / 2, W, W, W, W / 2, 0, 0], dtype=np.float64)
    vs = np.array([0, 0, 0, H / 2, H, H, H, H / 2], dtype=np.float64)
    src_from_world = np.linalg.inv(_source_pose(request))
    sfx, sfy, scx, scy = (float(v) for v in request.source_intrinsics)
    over = np.zeros(4)  # left, top, right, bottom
    for t in range(len(cams)):
        fx, fy, cx, cy = cams.intrinsics[t]
        m = src_from_world @ cams.world_from_camera[t]
        for z in zs:
            cam = np.stack([(us - cx) / fx * z, (vs - cy) / fy * z, np.full_like(us, z)], axis=1)
            p = cam @ m[:3, :3].T + m[:3, 3]
            if not (p[:, 2] > 1e-6).all():  # looking sideways past 90 degrees: as wide as allowed
                over[:] = np.inf
                continue
            u = sfx * p[:, 0] / p[:, 2] + scx
            v = sfy * p[:, 1] / p[:, 2] + scy
            over = np.maximum(over, [np.max(-u), np.max(-v), np.max(u - w), np.max(v - h)])
    pads = []
    for o, size in zip(over, (w, h, w, h), strict=True):
        top = max(s.pad_min_px, min(s.pad_max_frac * size, size - 1))
        pads.append(int(np.clip(math.ceil(min(o, 1e9) * 1.1 + 2), s.pad_min_px, top)))
    return pads[0], pads[1], pads[2], pads[3]


def _layer_points(
    layer: SourceLayer, world_from_camera: np.ndarray, footprint: float, step: int = 1
) -> PointLayers:
    """Unproject a layer's pixels: every `step`-th one, except those in `layer.fine`, all kept."""
    mask = layer.mask
    step_map = np.ones(mask.shape, np.float32)
    if step > 1:
        sub = np.zeros_like(mask)
        sub[::step, ::step] = True
        fine = layer.fine if layer.fine is not None else np.zeros_like(mask)
        sub |= fine
        step_map[~fine] = step
        mask = mask & sub
    pts, rc = unproject(layer.depth, layer.intrinsics, world_from_camera, mask)
    cols = layer.rgb[rc[:, 0], rc[:, 1]]
    z = layer.depth[rc[:, 0], rc[:, 1]]
    rad = (z / float(layer.intrinsics[0]) * step_map[rc[:, 0], rc[:, 1]] * footprint).astype(np.float32)
    return PointLayers(pts, np.ascontiguousarray(cols, dtype=np.uint8), rad)


def build_layers(request: GenerateRequest, s: InpaintSettings, report: InpaintReport) -> PointLayers | None:
    """The background and outpaint layers of the source view as one point set (None without a source view)."""
    if request.source_rgb is None or request.source_depth is None or request.source_intrinsics is None:
        report.notes.append("no source view: holes filled by the final fill only")
        return None
    rgb = np.asarray(request.source_rgb, dtype=np.uint8)
    depth = np.asarray(request.source_depth, dtype=np.float32)
    check_shape("source_rgb", rgb, (depth.shape[0], depth.shape[1], 3))
    if not (depth > 0).any():
        report.notes.append("source depth has no valid pixel: holes filled by the final fill only")
        return None
    src = _source_pose(request)
    intr = np.asarray(request.source_intrinsics, dtype=np.float64)
    band = disocclusion_band_px(request, s)
    pad = outpaint_pad_px(request, s)
    report.band_px, report.pad_px = band, pad
    bg = background_layer(rgb, depth, intr, band, tau=s.edge_tau, fine_px=s.fine_px)
    canvas = outpaint_canvas(rgb, depth, intr, pad, fine_px=s.fine_px)
    parts = [
        _layer_points(bg, src, s.footprint, step=s.band_step),
        _layer_points(canvas, src, s.footprint, step=s.ring_step),
    ]
    layers = PointLayers(
        np.concatenate([p.points for p in parts]),
        np.concatenate([p.colors for p in parts]),
        np.concatenate([p.radius for p in parts]),
    )
    report.layer_points = len(layers.points)
    return layers


# ---------------------------------------------------------------------------------------------------------------
# The generator


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) bounding box of the True pixels of a non-empty (H, W) mask (end exclusive)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


class InpaintGenerator(Generator):
    """Layered, 3D-consistent hole filling of the guidance (see the module docstring)."""

    name = "inpaint"
    constraints = Constraints()

    def __init__(
        self, settings: InpaintSettings | None = None, layers: PointLayers | None = None, **_ignored
    ) -> None:
        self.settings = settings or InpaintSettings()
        self.layers = layers
        """Fill layers built once elsewhere (a rig shares one set across views); None = build per request."""
        self.last_report: InpaintReport | None = None
        self.last_depth: np.ndarray | None = None

    def version(self) -> str:
        return VERSION

    #: `generate` hands each frame to `on_frame` once it is final (the stage encodes while it fills).
    streams_frames = True

    def generate(self, request: GenerateRequest, on_frame=None) -> np.ndarray:
        """(T, H, W, 3) uint8: the guidance where covered, the layered fill elsewhere. `on_frame(t, frame)`, when
        given, gets each output frame as soon as it is final (a view of the returned array, which it may
        modify in place: this generator no longer reads it)."""
        s = self.settings
        rgb = np.asarray(request.guidance_rgb)
        mask = np.asarray(request.guidance_mask, dtype=bool)
        gdepth = np.asarray(request.guidance_depth)  # float16 or float32, made float32 frame by frame
        if gdepth.dtype not in (np.float16, np.float32):
            gdepth = gdepth.astype(np.float32)
        if rgb.ndim != 4 or rgb.shape[-1] != 3:
            raise InputError(f"guidance_rgb: expected (T, H, W, 3) uint8, got {rgb.shape}")
        t_, h_, w_ = rgb.shape[:3]
        check_shape("guidance_mask", mask, (t_, h_, w_))
        check_shape("guidance_depth", gdepth, (t_, h_, w_))
        cams = request.cameras
        if len(cams) != t_ or (cams.width, cams.height) != (w_, h_):
            raise InputError(
                f"cameras: {len(cams)} frames at {cams.width}x{cams.height} do not match the guidance "
                f"({t_} frames at {w_}x{h_}); rerun render-guidance"
            )
        known = mask  # read only below: no copy of the whole stack unless objects join it
        if request.object_mask is not None:
            known = mask | np.asarray(request.object_mask, dtype=bool)

        report = InpaintReport()
        t0 = time.perf_counter()
        if self.layers is not None:
            layers = self.layers
            report.layer_points = len(layers.points)
        else:
            layers = build_layers(request, s, report) if not known.all() else None
        report.seconds_layers = time.perf_counter() - t0

        t0 = time.perf_counter()
        in_place = request.writable_guidance and (
            isinstance(rgb, np.ndarray)
            and rgb.dtype == np.uint8
            and rgb.flags.writeable
            and rgb.flags.c_contiguous
        )
        out = rgb if in_place else np.empty((t_, h_, w_, 3), np.uint8)
        depth_out = np.empty((t_, h_, w_), np.float32) if s.keep_depth else None
        prev_rgb: np.ndarray | None = None
        prev_depth: np.ndarray | None = None
        holes = layer_px = 0
        diff_sum, diff_n = 0.0, 0

        def render_layers(t: int):
            """(crop, render) of the layers over frame t's hole box, or None (no hole or no layers)."""
            hole = ~known[t]
            if layers is None or not len(layers.points) or not hole.any():
                return None
            y0, y1, x0, x1 = _bbox(hole)
            intr = cams.intrinsics[t] - np.array([0.0, 0.0, x0, y0])
            r = _render_points(
                layers.points,
                layers.colors,
                cams.world_from_camera[t],
                intr,
                x1 - x0,
                y1 - y0,
                radius=layers.radius,
            )
            return (slice(y0, y1), slice(x0, x1)), r

        # The layer renders do not depend on the previous output frame: a background thread renders the next
        # frames (the compiled kernel releases the GIL) while this one fills the current frame.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inpaint-layers") as pool:
            ahead = deque(pool.submit(render_layers, t) for t in range(min(t_, _PREFETCH)))
            for t in track(range(t_), "inpaint: filling holes", total=t_):
                rendered = ahead.popleft().result()
                if t + _PREFETCH < t_:
                    ahead.append(pool.submit(render_layers, t + _PREFETCH))
                frame = out[t]  # filled in place: the output's own frame (the guidance's, when writable)
                if not in_place:
                    frame[...] = rgb[t]
                kt = known[t]
                hole = ~kt
                dep = np.where(kt, gdepth[t], np.float32(0))
                n_hole = int(np.count_nonzero(hole))
                holes += n_hole
                have = kt.copy()
                if rendered is not None:
                    crop, r = rendered
                    use = hole[crop] & np.asarray(r.mask, dtype=bool) & (np.asarray(r.depth) > 0)
                    np.copyto(pixels(frame[crop]), pixels(np.asarray(r.rgb, dtype=np.uint8)), where=use)
                    np.copyto(dep[crop], np.asarray(r.depth, dtype=np.float32), where=use)
                    have[crop] |= use
                    layer_px += int(np.count_nonzero(use))
                rest = ~have
                if rest.any():
                    rows, cols = np.nonzero(rest)
                    vals = push_pull_fill(colour_depth_stack(frame, dep), have, at=(rows, cols))
                    dep[rows, cols] = vals[:, 3]
                    colour = vals[:, :3]
                    if prev_rgb is not None and s.temporal_blend > 0:
                        warped, ok = warp_sample(
                            prev_rgb, rows, cols, vals[:, 3], *self._cams(cams, t), prev_depth=prev_depth
                        )
                        a = s.temporal_blend * ok[:, None]
                        colour = a * warped + (1.0 - a) * colour
                    frame[rows, cols] = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
                if s.measure and prev_rgb is not None and n_hole:
                    rows, cols = np.nonzero(hole & (dep > 0))
                    warped, ok = warp_sample(
                        prev_rgb, rows, cols, dep[rows, cols], *self._cams(cams, t), prev_depth=prev_depth
                    )
                    if ok.any():
                        cur = frame[rows[ok], cols[ok]].astype(np.float32)
                        diff_sum += float(np.abs(cur - warped[ok]).mean(axis=1).sum())
                        diff_n += int(ok.sum())
                if depth_out is not None:
                    depth_out[t] = dep
                # the next frame samples this one (up to twice): converted once
                prev_rgb, prev_depth = frame.astype(np.float32), dep
                if on_frame is not None:
                    on_frame(t, frame)
        report.seconds_frames = time.perf_counter() - t0
        report.hole_fraction = holes / float(t_ * h_ * w_)
        report.layer_fraction = layer_px / holes if holes else 1.0
        report.temporal_instability = diff_sum / diff_n if diff_n else float("nan")
        self.last_report = report
        self.last_depth = depth_out
        return out

    @staticmethod
    def _cams(cams, t: int):
        return (
            (cams.world_from_camera[t], cams.intrinsics[t]),
            (cams.world_from_camera[t - 1], cams.intrinsics[t - 1]),
        )


@register("inpaint")
def _make_inpaint(**kwargs) -> InpaintGenerator:
    return InpaintGenerator(**kwargs)
