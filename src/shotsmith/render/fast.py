"""The compiled point renderer (numba, parallel): the default fast path of `shotsmith.render`.

Owns one numba kernel that implements the rule of `shotsmith.render.types` in two passes without atomics. Pass 1
splits the points into one contiguous chunk per thread, each with its own z-buffer, merged by a per-pixel minimum
into the visible-surface threshold. Pass 2 splits the image into one band of rows per thread: each thread merges
its rows' threshold, walks every point adding only into its own rows of one shared accumulator (so there is
nothing to merge, and a pixel sums its points in index order whatever the number of threads) and normalises its
rows; the Gaussian weight is separable, one exp per footprint row and column. Two parallel regions per frame. Memory is (threads x pixels x 4 bytes) + pixels x 20 bytes, plus 12 bytes per point:
pass 1 keeps the pixel, weight and depth of every single-pixel footprint (most points when the cache is denser
than the target) so pass 2 only re-projects the larger ones. The kernel releases the GIL (`nogil`), so a caller
can overlap it with encoding or filling on other threads. Compiled once per machine (`cache=True`, a few
seconds), then cached on disk next to this file (or in NUMBA_CACHE_DIR).
"""

from __future__ import annotations

import math
import os

# numba's OpenMP threads otherwise spin for a while after each parallel region (two per frame). On a machine
# whose cores are all busy (other processes, or the ffmpeg encoders that follow the renderer) the spinning
# threads take the CPU the working ones need: measured on 2 loaded cores, 20-30 % more CPU time per frame and
# up to 1.7x the wall time. Sleeping costs a wake-up (microseconds) per region. Read when the OpenMP runtime
# loads: numba's first parallel call, or earlier an `import torch` (its bundled libgomp is the one numba then
# shares; a process that imports torch first keeps OpenMP's default); a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np
from numba import njit, prange  # noqa: E402

from shotsmith.render.types import Frame, RenderOutput, RenderSettings  # noqa: E402


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


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _render_kernel(
    points, colors, radius, has_radius, m, fx, fy, cx, cy, focal, width, height,
    near, lo, hi, reach_k, round_fp, sigma_scale, tol1, n_chunks, rgb, mask, depth,
):  # fmt: skip
    n_points = points.shape[0]
    n_pix = width * height
    step = (n_points + n_chunks - 1) // n_chunks
    # Pass 1 keeps, per point, its pixel when the footprint is a single pixel (the common case when the cache is
    # denser than the target): pass 2 then needs no projection. -1 = not drawn; a larger footprint stores
    # -2 - (its first row) and, in single_w, its last row, so that pass 2 re-projects it only in the row bands
    # it reaches.
    single = np.empty(n_points, np.int32)
    single_w = np.empty(n_points, np.float32)
    single_z = np.empty(n_points, np.float32)

    # Pass 1: per-chunk z-buffers (the points split into contiguous chunks), then the visible-surface threshold.
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
            single[i] = -2 - y0
            single_w[i] = np.float32(y1)
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

    # Pass 2, split into bands of image rows, one task each (one parallel region: on a busy machine every
    # region waits for its slowest thread): the band's visible-surface threshold (the chunks' z-buffers
    # merged), then one accumulator (r, g, b, weight, weight * z) of the visible surface, each task walking
    # every point but adding only into its own rows (no atomics, no per-chunk copies to merge, and each pixel
    # sums its points in index order whatever the number of threads), then the band normalised into the
    # caller's arrays (every pixel is written).
    threshold = np.empty(n_pix, np.float32)
    acc = np.empty(n_pix * 5, np.float32)
    half = np.float32(0.5)
    band = (height + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        row0 = min(height, c * band)
        row1 = min(height, (c + 1) * band)
        acc[5 * row0 * width : 5 * row1 * width] = 0.0
        p0 = row0 * width
        p1 = row1 * width
        for p in range(p0, p1):
            zmin = zbufs[0, p]
            for c2 in range(1, n_chunks):
                zmin = min(zmin, zbufs[c2, p])
            threshold[p] = zmin * tol1
        wx = np.empty(width, np.float64)
        for i in range(n_points):
            p = single[i]
            if p == -1:
                continue
            if p >= 0:
                if p < p0 or p >= p1:
                    continue
                z32 = single_z[i]
                if z32 <= threshold[p]:
                    w = single_w[i]
                    k = 5 * p
                    acc[k] += w * np.float32(colors[i, 0])
                    acc[k + 1] += w * np.float32(colors[i, 1])
                    acc[k + 2] += w * np.float32(colors[i, 2])
                    acc[k + 3] += w
                    acc[k + 4] += w * z32
                continue
            if -2 - p >= row1 or np.int64(single_w[i]) < row0:
                continue
            ok, u, v, z, r, e = _project_one(
                points, radius, i, has_radius, m, fx, fy, cx, cy, focal, near, lo, hi, reach_k, width, height
            )
            y0 = max(math.ceil(v - e - 0.5), row0)
            y1 = min(math.floor(v + e - 0.5), row1 - 1)
            z32 = np.float32(z)
            cr = np.float32(colors[i, 0])
            cg = np.float32(colors[i, 1])
            cb = np.float32(colors[i, 2])
            x0 = max(math.ceil(u - e - 0.5), 0)
            x1 = min(math.floor(u + e - 0.5), width - 1)
            s = sigma_scale * r
            q = -0.5 / (s * s)
            # The Gaussian weight is separable: exp(q dx²) exp(q dy²), one exp per column and per row.
            for px in range(x0, x1 + 1):
                dx = (px + 0.5) - u
                wx[px] = math.exp(q * (dx * dx))
            for py in range(y0, y1 + 1):
                dy = (py + 0.5) - v
                wy = math.exp(q * (dy * dy))
                row = py * width
                for px in range(x0, x1 + 1):
                    p = row + px
                    if z32 > threshold[p]:
                        continue
                    if round_fp:
                        dx = (px + 0.5) - u
                        if dx * dx + dy * dy > e * e:
                            continue
                    w = np.float32(wx[px] * wy)
                    k = 5 * p
                    acc[k] += w * cr
                    acc[k + 1] += w * cg
                    acc[k + 2] += w * cb
                    acc[k + 3] += w
                    acc[k + 4] += w * z32
        for py in range(row0, row1):
            for px in range(width):
                k = 5 * (py * width + px)
                sw = acc[k + 3]
                if sw > 0:
                    # A weighted mean of colours in [0, 255] plus a half is positive: truncation is the floor
                    # (a float32 math.floor is a call into numba's helper library, 2 % of a frame).
                    mask[py, px] = True
                    rgb[py, px, 0] = np.uint8(min(np.int32(acc[k] / sw + half), 255))
                    rgb[py, px, 1] = np.uint8(min(np.int32(acc[k + 1] / sw + half), 255))
                    rgb[py, px, 2] = np.uint8(min(np.int32(acc[k + 2] / sw + half), 255))
                    depth[py, px] = acc[k + 4] / sw
                else:
                    mask[py, px] = False
                    rgb[py, px, 0] = 0
                    rgb[py, px, 1] = 0
                    rgb[py, px, 2] = 0
                    depth[py, px] = 0.0


def render(
    points: np.ndarray,
    colors: np.ndarray,
    radius: np.ndarray | None,
    frame: Frame,
    settings: RenderSettings,
    out: RenderOutput | None = None,
) -> RenderOutput:
    """Render prepared inputs (see `shotsmith.render.render_points`) with the compiled kernel; into `out`'s
    C-contiguous arrays when given (e.g. one frame of a `RenderedVideo`: no copy), else into new ones."""
    h, w = frame.height, frame.width
    if out is None:
        out = RenderOutput(
            rgb=np.empty((h, w, 3), np.uint8), mask=np.empty((h, w), bool), depth=np.empty((h, w), np.float32)
        )
    lo, hi = settings.radius_range
    has_radius = radius is not None
    rad = radius if has_radius else np.zeros(1, np.float32)
    n_chunks = max(1, min(numba.get_num_threads(), len(points) // 4096 + 1))
    _render_kernel(
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
        out.rgb,
        out.mask,
        out.depth,
    )
    return out
