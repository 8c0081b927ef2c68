"""The compiled point renderer (numba, parallel): the default fast path of `shotsmith.render`.

Owns one numba kernel that implements the rule of `shotsmith.render.types` in two passes without atomics: the
points are split into one contiguous chunk per thread, each chunk writes its own z-buffer (pass 1) and its own
accumulators (pass 2), and per-pixel reductions over the chunks merge them. Memory is (threads x pixels x 24 bytes),
a few MB per thread at 832x480, plus 12 bytes per point: pass 1 keeps the pixel, weight and depth of every
single-pixel footprint (most points when the cache is denser than the target) so pass 2 only re-projects the
larger ones. Compiled once per
machine (`cache=True`, a few seconds), then cached on disk next to this file (or in NUMBA_CACHE_DIR).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from shotsmith.render.types import Frame, RenderOutput, RenderSettings


@njit(cache=True, inline="always", error_model="numpy")
def _project_one(
    points, radius, i, has_radius, m, fx, fy, cx, cy, focal, near, lo, hi, reach_k, width, height
):
    """(ok, u, v, z, r, reach) of point i; ok is False when it cannot touch the image."""
    x = np.float64(points[i, 0])
    y = np.float64(points[i, 1])
    zw = np.float64(points[i, 2])
    xc = m[0, 0] * x + m[0, 1] * y + m[0, 2] * zw + m[0, 3]
    yc = m[1, 0] * x + m[1, 1] * y + m[1, 2] * zw + m[1, 3]
    z = m[2, 0] * x + m[2, 1] * y + m[2, 2] * zw + m[2, 3]
    if not (z > near and z < math.inf):
        return False, 0.0, 0.0, 0.0, 0.0, 0.0
    iz = 1.0 / z
    u = fx * xc * iz + cx
    v = fy * yc * iz + cy
    r = lo
    if has_radius:
        r = focal * np.float64(radius[i]) * iz
        r = min(max(r, lo), hi)
    e = r * reach_k
    ok = u + e - 0.5 >= 0 and u - e - 0.5 <= width - 1 and v + e - 0.5 >= 0 and v - e - 0.5 <= height - 1
    return ok, u, v, z, r, e


@njit(cache=True, inline="always", error_model="numpy")
def _weight(px, py, u, v, r, sigma_scale):
    """Gaussian blending weight of pixel (px, py) for a splat at (u, v) of radius r, and dx² + dy²."""
    dx = (px + 0.5) - u
    dy = (py + 0.5) - v
    d2 = dx * dx + dy * dy
    s = sigma_scale * r
    return np.float32(math.exp(-0.5 * d2 / (s * s))), d2


@njit(cache=True, parallel=True, error_model="numpy")
def _render_kernel(
    points, colors, radius, has_radius, m, fx, fy, cx, cy, focal, width, height,
    near, lo, hi, reach_k, round_fp, sigma_scale, tol1, n_chunks,
):  # fmt: skip
    n_points = points.shape[0]
    n_pix = width * height
    step = (n_points + n_chunks - 1) // n_chunks
    # Pass 1 keeps, per point, its pixel when the footprint is a single pixel (the common case when the cache is
    # denser than the target): pass 2 then needs no projection. -1 = not drawn, -2 = several pixels.
    single = np.empty(n_points, np.int32)
    single_w = np.empty(n_points, np.float32)
    single_z = np.empty(n_points, np.float32)

    # Pass 1: per-chunk z-buffers, then the visible-surface threshold per pixel.
    zbufs = np.empty((n_chunks, n_pix), np.float32)
    for c in prange(n_chunks):
        zc = zbufs[c]
        zc[:] = np.inf
        for i in range(c * step, min(n_points, (c + 1) * step)):
            ok, u, v, z, r, e = _project_one(
                points, radius, i, has_radius, m, fx, fy, cx, cy, focal, near, lo, hi, reach_k, width, height
            )
            single[i] = -1
            if not ok:
                continue
            z32 = np.float32(z)
            x0 = max(math.ceil(u - e - 0.5), 0)
            x1 = min(math.floor(u + e - 0.5), width - 1)
            y0 = max(math.ceil(v - e - 0.5), 0)
            y1 = min(math.floor(v + e - 0.5), height - 1)
            if x0 == x1 and y0 == y1:
                w, d2 = _weight(x0, y0, u, v, r, sigma_scale)
                if round_fp and d2 > e * e:
                    continue
                p = y0 * width + x0
                single[i] = p
                single_w[i] = w
                single_z[i] = z32
                if z32 < zc[p]:
                    zc[p] = z32
                continue
            single[i] = -2
            for py in range(y0, y1 + 1):
                dy = (py + 0.5) - v
                row = py * width
                for px in range(x0, x1 + 1):
                    if round_fp:
                        dx = (px + 0.5) - u
                        if dx * dx + dy * dy > e * e:
                            continue
                    if z32 < zc[row + px]:
                        zc[row + px] = z32
    threshold = np.empty(n_pix, np.float32)
    for p in prange(n_pix):
        zmin = zbufs[0, p]
        for c in range(1, n_chunks):
            zmin = min(zmin, zbufs[c, p])
        threshold[p] = zmin * tol1

    # Pass 2: per-chunk accumulators (r, g, b, weight, weight * z) of the visible surface.
    acc = np.empty((n_chunks, n_pix * 5), np.float32)
    for c in prange(n_chunks):
        a = acc[c]
        a[:] = 0.0
        for i in range(c * step, min(n_points, (c + 1) * step)):
            p = single[i]
            if p == -1:
                continue
            if p >= 0:
                z32 = single_z[i]
                if z32 <= threshold[p]:
                    w = single_w[i]
                    k = 5 * p
                    a[k] += w * np.float32(colors[i, 0])
                    a[k + 1] += w * np.float32(colors[i, 1])
                    a[k + 2] += w * np.float32(colors[i, 2])
                    a[k + 3] += w
                    a[k + 4] += w * z32
                continue
            ok, u, v, z, r, e = _project_one(
                points, radius, i, has_radius, m, fx, fy, cx, cy, focal, near, lo, hi, reach_k, width, height
            )
            z32 = np.float32(z)
            cr = np.float32(colors[i, 0])
            cg = np.float32(colors[i, 1])
            cb = np.float32(colors[i, 2])
            x0 = max(math.ceil(u - e - 0.5), 0)
            x1 = min(math.floor(u + e - 0.5), width - 1)
            y0 = max(math.ceil(v - e - 0.5), 0)
            y1 = min(math.floor(v + e - 0.5), height - 1)
            for py in range(y0, y1 + 1):
                row = py * width
                for px in range(x0, x1 + 1):
                    p = row + px
                    if z32 > threshold[p]:
                        continue
                    w, d2 = _weight(px, py, u, v, r, sigma_scale)
                    if round_fp and d2 > e * e:
                        continue
                    k = 5 * p
                    a[k] += w * cr
                    a[k + 1] += w * cg
                    a[k + 2] += w * cb
                    a[k + 3] += w
                    a[k + 4] += w * z32

    # Merge the chunks and normalise, one image row per task.
    rgb = np.zeros((height, width, 3), np.uint8)
    mask = np.zeros((height, width), np.bool_)
    depth = np.zeros((height, width), np.float32)
    half = np.float32(0.5)
    for py in prange(height):
        for px in range(width):
            k = 5 * (py * width + px)
            sr = acc[0, k]
            sg = acc[0, k + 1]
            sb = acc[0, k + 2]
            sw = acc[0, k + 3]
            sz = acc[0, k + 4]
            for c in range(1, n_chunks):
                sr += acc[c, k]
                sg += acc[c, k + 1]
                sb += acc[c, k + 2]
                sw += acc[c, k + 3]
                sz += acc[c, k + 4]
            if sw > 0:
                mask[py, px] = True
                rgb[py, px, 0] = np.uint8(min(max(math.floor(sr / sw + half), 0.0), 255.0))
                rgb[py, px, 1] = np.uint8(min(max(math.floor(sg / sw + half), 0.0), 255.0))
                rgb[py, px, 2] = np.uint8(min(max(math.floor(sb / sw + half), 0.0), 255.0))
                depth[py, px] = sz / sw
    return rgb, mask, depth


def render(
    points: np.ndarray, colors: np.ndarray, radius: np.ndarray | None, frame: Frame, settings: RenderSettings
) -> RenderOutput:
    """Render prepared inputs (see `shotsmith.render.render_points`) with the compiled kernel."""
    lo, hi = settings.radius_range
    has_radius = radius is not None
    rad = radius if has_radius else np.zeros(1, np.float32)
    n_chunks = max(1, min(numba.get_num_threads(), len(points) // 4096 + 1))
    rgb, mask, depth = _render_kernel(
        points,
        colors,
        rad,
        has_radius,
        np.ascontiguousarray(frame.camera_from_world, dtype=np.float64),
        frame.fx,
        frame.fy,
        frame.cx,
        frame.cy,
        frame.focal,
        frame.width,
        frame.height,
        float(settings.near),
        float(lo),
        float(hi),
        float(settings.reach_factor),
        settings.footprint == "round",
        float(settings.kernel_sigma),
        np.float32(1.0 + settings.depth_tolerance),
        n_chunks,
    )
    return RenderOutput(rgb=rgb, mask=mask, depth=depth)
