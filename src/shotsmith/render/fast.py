"""The compiled point renderer (numba, parallel): the default fast path of `shotsmith.render`.

Owns one numba kernel that implements the rule of `shotsmith.render.types` in two passes without atomics. Pass 1
splits the points into one contiguous chunk per thread, each with its own z-buffer, merged by a per-pixel minimum
into the visible-surface threshold; it works in blocks of points whose projection, footprints and weights are
straight loops that LLVM vectorises (with a checked fast exp: the float32 weights are exactly math.exp's). It
keeps the pixel, weight and depth of every single-pixel footprint (most points when the cache is denser than the
target) and, in a side list, the rows, columns and weights of footprints up to 2 x 2 pixels, so that pass 2 only
re-projects the larger ones. Pass 2 splits the image into one band of rows per thread: each thread merges its
rows' threshold, walks every point adding only into its own rows of one shared accumulator (so there is nothing
to merge, and a pixel sums its points in index order whatever the number of threads) and normalises its rows.
Two parallel regions per frame. Work arrays (12 bytes a point + up to 32 a larger footprint, a z-buffer per
thread, 20 bytes a pixel) are kept per calling thread between calls. The kernel releases the GIL (`nogil`), so a
caller can overlap it with encoding or filling on other threads. Compiled once per machine (`cache=True`, a few
seconds), then cached on disk next to this file (or in NUMBA_CACHE_DIR).
"""

from __future__ import annotations

import math
import os
import threading

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


#: Points per block of pass 1: the block's projections, footprints and weights are computed by straight loops
#: (vectorised by LLVM) into small per-thread buffers that stay in cache, then its z-buffer writes are done.
#: 1024 measured 15 % less CPU than 256 (each block call pays for LLVM's overlap checks); 4096 no better.
_BLOCK = 1024

# exp(x) = 2^k exp(r), x = k ln 2 + r, |r| <= ln 2 / 2 (Cody-Waite: LN2_HI has 11 trailing zero bits, so k * LN2_HI
# is exact), exp(r) by its Taylor series to degree 11 (the remainder is under 7e-15, 2^-47).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: A weight from the fast exp is trusted only when it lies farther than this (relative) from a midpoint between
#: two float32 values: 2^-40, against errors under 2^-45 (this series, its rounding, and a product of two) and
#: under 2^-51 (the C library's exp, under one unit in the last place); anywhere closer, or outside [-80, 0],
#: the weight is recomputed with math.exp. So the float32 weights are exactly those of math.exp, and about one
#: weight in 30,000 takes the slow path.
_MID_MARGIN = 2.0**-40


@njit(cache=True, inline="always", error_model="numpy")
def _pow2(k):
    """2.0**k for an integer -120 <= k <= 0, exactly, by integer shifts and conversions (vectorisable)."""
    k1 = max(k, -60)
    a = np.float64(np.int64(1) << (k1 + 60)) * 8.673617379884035e-19  # 2^-60
    b = np.float64(np.int64(1) << (k - k1 + 60)) * 8.673617379884035e-19
    return a * b


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _exp_block(x, p, scale, inside):
    """exp(x[t]) = p[t] * scale[t] to within 2^-49 (relative) for x[t] in [-80, 0] (inside[t]), with scale[t] =
    2^k exactly and p[t] within 2^-40 of [2^-0.5, 2^0.5]; (1, 1, False) elsewhere, NaN included. Vectorised, and
    the only function here that lets LLVM fuse a multiply and an add (its result is checked, not trusted)."""
    for t in range(x.shape[0]):
        xt = x[t]
        ins = (xt >= -80.0) & (xt <= 0.0)
        xc = xt if ins else 0.0
        kf = math.floor(xc * _LOG2E + 0.5)
        r = (xc - kf * _LN2_HI) - kf * _LN2_LO
        p[t] = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (
            1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800)))))))))))  # fmt: skip
        scale[t] = _pow2(np.int64(kf))
        inside[t] = ins


@njit(cache=True, inline="always", error_model="numpy")
def _to_f32(p, scale):
    """(float32(p * scale), ok) for p in [0.25, 4) and scale a power of two (p * scale is then exact): ok is
    False where p * scale lies within _MID_MARGIN * scale of a midpoint between two float32 values (where a
    value a few units in the last place away could round the other way) or below float32's normal range."""
    d = p * scale
    f = np.float32(d)
    # float32 values in [2^e, 2^(e+1)) are 2^(e-23) apart: half of that for d = p * 2^k, e = k + floor(log2 p).
    unit = 2.9802322387695312e-08 if p < 1.0 else 5.960464477539063e-08  # 2^-25, 2^-24
    unit = 1.4901161193847656e-08 if p < 0.5 else unit
    unit = 1.1920928955078125e-07 if p >= 2.0 else unit
    dist = scale * unit - abs(d - np.float64(f))
    return f, (dist > scale * _MID_MARGIN) & (d >= 1.1754943508222875e-38)


@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _render_kernel(
    points, colors, radius, has_radius, m, fx, fy, cx, cy, focal, width, height,
    near, lo, hi, reach_k, round_fp, sigma_scale, tol1, n_chunks, rgb, mask, depth,
    code, rec_w, rec_z, side, side_w, zbufs, acc,
):  # fmt: skip
    n_points = points.shape[0]
    step = (n_points + n_chunks - 1) // n_chunks
    m00, m01, m02, m03 = m[0, 0], m[0, 1], m[0, 2], m[0, 3]
    m10, m11, m12, m13 = m[1, 0], m[1, 1], m[1, 2], m[1, 3]
    m20, m21, m22, m23 = m[2, 0], m[2, 1], m[2, 2], m[2, 3]
    wm1 = np.float64(width - 1)
    hm1 = np.float64(height - 1)
    # x, y, z of point i at 3i, 3i+1, 3i+2 with the 3 known at compile time (a 2-d array's row length is a
    # run-time value, and LLVM's vector loop then assumed it to be 1, so only the scalar loop ever ran).
    flat = points.reshape(-1)
    cflat = colors.reshape(-1)

    # Pass 1, one contiguous chunk of points per task, each with its own z-buffer. Per point it keeps `code`:
    # -1 = not drawn; its pixel when the footprint is a single pixel (the common case when the cache is denser
    # than the target), with its weight (rec_w) and depth (rec_z), so that pass 2 needs no projection; a larger
    # footprint stores -2 - k, k its entry in `side` (first and last row, first and last column) and `side_w`:
    # the weights of a footprint of at most 2 x 2 pixels (computed here, vectorised), or -1 for a larger one,
    # which pass 2 re-projects. A chunk's entries start at its first point's index, in point order.
    for c in prange(n_chunks):
        zc = zbufs[c]
        zc[:] = np.inf
        fu = np.empty(_BLOCK)
        fv = np.empty(_BLOCK)
        fe = np.empty(_BLOCK)
        fa = np.empty(_BLOCK)
        fq = np.empty(_BLOCK)
        fg = np.empty(4 * _BLOCK, np.bool_)
        ep = np.empty(4 * _BLOCK)
        es = np.empty(4 * _BLOCK)
        cw = np.empty((6, _BLOCK))  # u, v, e, sigma_scale * r, x0, y0 of the block's small footprints
        ck = np.empty(_BLOCK, np.int64)
        cj = np.empty(_BLOCK, np.int64)
        sw4 = np.empty(4 * _BLOCK, np.float32)
        sok = np.empty(_BLOCK, np.bool_)
        fa4 = np.empty(4 * _BLOCK)
        k = c * step
        for b0 in range(c * step, min(n_points, (c + 1) * step), _BLOCK):
            b1 = min(b0 + _BLOCK, (c + 1) * step, n_points)
            _project_block(
                flat[3 * b0 : 3 * b1], radius[b0:b1], has_radius,
                m00, m01, m02, m03, m10, m11, m12, m13, m20, m21, m22, m23, fx, fy, cx, cy, focal,
                near, lo, hi, reach_k, wm1, hm1, width, height, round_fp, sigma_scale,
                fu, fv, fe, fa, fq, fg, ep, es, code[b0:b1], rec_w[b0:b1], rec_z[b0:b1],
            )  # fmt: skip
            n_small = 0
            for j in range(b1 - b0):
                i = b0 + j
                p = code[i]
                if p >= 0:
                    zc[p] = min(zc[p], rec_z[i])  # no branch: two points often share a pixel
                    continue
                if p == -1:
                    continue
                z32 = rec_z[i]
                u = fu[j]
                v = fv[j]
                e = fe[j]
                x0 = max(np.int64(math.ceil(u - e - 0.5)), 0)
                x1 = min(np.int64(math.floor(u + e - 0.5)), width - 1)
                y0 = max(np.int64(math.ceil(v - e - 0.5)), 0)
                y1 = min(np.int64(math.floor(v + e - 0.5)), height - 1)
                code[i] = -2 - k
                side[4 * k] = y0
                side[4 * k + 1] = y1
                side[4 * k + 2] = x0
                side[4 * k + 3] = x1
                if x1 - x0 <= 1 and y1 - y0 <= 1:
                    cw[0, n_small] = u
                    cw[1, n_small] = v
                    cw[2, n_small] = e
                    cw[3, n_small] = fq[j]
                    cw[4, n_small] = x0
                    cw[5, n_small] = y0
                    ck[n_small] = k
                    cj[n_small] = j
                    n_small += 1
                else:
                    side_w[4 * k] = -1.0
                k += 1
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
            _small_weights(
                cw[0, :n_small], cw[1, :n_small], cw[2, :n_small], cw[3, :n_small], cw[4, :n_small],
                cw[5, :n_small], round_fp, sw4, sok, fa4, ep, es, fg,
            )  # fmt: skip
            for t in range(n_small):
                kk = 4 * ck[t]
                if sok[t]:
                    side_w[kk] = sw4[4 * t]
                    side_w[kk + 1] = sw4[4 * t + 1]
                    side_w[kk + 2] = sw4[4 * t + 2]
                    side_w[kk + 3] = sw4[4 * t + 3]
                else:
                    _small_weights_exact(
                        cw[0, t],
                        cw[1, t],
                        cw[2, t],
                        cw[3, t],
                        cw[4, t],
                        cw[5, t],
                        round_fp,
                        side_w[kk : kk + 4],
                    )

    # Pass 2, split into bands of image rows, one task each (one parallel region: on a busy machine every
    # region waits for its slowest thread): the band's visible-surface threshold (the chunks' z-buffers
    # merged, into the first one), then one accumulator (r, g, b, weight, weight * z) of the visible surface,
    # each task walking every point but adding only into its own rows (no atomics, no per-chunk copies to
    # merge, and each pixel sums its points in index order whatever the number of threads), then the band
    # normalised into the caller's arrays (every pixel is written).
    threshold = zbufs[0]
    half = np.float32(0.5)
    band = (height + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        row0 = min(height, c * band)
        row1 = min(height, (c + 1) * band)
        p0 = row0 * width
        p1 = row1 * width
        acc[5 * p0 : 5 * p1] = 0.0
        for p in range(p0, p1):
            zmin = zbufs[0, p]
            for c2 in range(1, n_chunks):
                zmin = min(zmin, zbufs[c2, p])
            threshold[p] = zmin * tol1
        wx = np.empty(width, np.float64)
        for i in range(n_points):
            p = code[i]
            if p == -1:
                continue
            if p >= 0:
                if p < p0 or p >= p1:
                    continue
                z32 = rec_z[i]
                if z32 <= threshold[p]:
                    w = rec_w[i]
                    k = 5 * p
                    acc[k] += w * np.float32(cflat[3 * i])
                    acc[k + 1] += w * np.float32(cflat[3 * i + 1])
                    acc[k + 2] += w * np.float32(cflat[3 * i + 2])
                    acc[k + 3] += w
                    acc[k + 4] += w * z32
                continue
            ks = 4 * (-2 - p)
            fy0 = side[ks]
            fy1 = side[ks + 1]
            if fy0 >= row1 or fy1 < row0:
                continue
            x0 = side[ks + 2]
            x1 = side[ks + 3]
            y0 = max(fy0, row0)
            y1 = min(fy1, row1 - 1)
            z32 = rec_z[i]
            cr = np.float32(cflat[3 * i])
            cg = np.float32(cflat[3 * i + 1])
            cb = np.float32(cflat[3 * i + 2])
            if side_w[ks] >= 0:
                # At most 2 x 2 pixels, weights from pass 1 (0 where the round footprint leaves a pixel out:
                # adding zeros changes no sum).
                for py in range(y0, y1 + 1):
                    row = py * width
                    kw = ks + 2 * (py - fy0) - x0
                    for px in range(x0, x1 + 1):
                        p = row + px
                        if z32 > threshold[p]:
                            continue
                        w = side_w[kw + px]
                        k = 5 * p
                        acc[k] += w * cr
                        acc[k + 1] += w * cg
                        acc[k + 2] += w * cb
                        acc[k + 3] += w
                        acc[k + 4] += w * z32
                continue
            ok, u, v, z, r, e = _project_one(
                points, radius, i, has_radius, m, fx, fy, cx, cy, focal, near, lo, hi, reach_k, width, height
            )
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
        _normalise(acc, p0, p1, rgb.reshape(-1), mask.reshape(-1), depth.reshape(-1), half)


@njit(cache=True, error_model="numpy")
def _project_block(
    pts, rad, has_radius, m00, m01, m02, m03, m10, m11, m12, m13, m20, m21, m22, m23, fx, fy, cx, cy, focal,
    near, lo, hi, reach_k, wm1, hm1, width, height, round_fp, sigma_scale,
    fu, fv, fe, fa, fq, fg, ep, es, code, rec_w, rec_z,
):  # fmt: skip
    """Pass 1's straight-line part for one block of points (views, indexed from 0 so that LLVM vectorises
    the loops): projection, footprint, the record of each point and the weight of single-pixel footprints."""
    nb = pts.shape[0] // 3
    for j in range(nb):
        x = np.float64(pts[3 * j])
        y = np.float64(pts[3 * j + 1])
        zw = np.float64(pts[3 * j + 2])
        xc = m00 * x + m01 * y + m02 * zw + m03
        yc = m10 * x + m11 * y + m12 * zw + m13
        z = m20 * x + m21 * y + m22 * zw + m23
        iz = 1.0 / z
        u = fx * xc * iz + cx
        v = fy * yc * iz + cy
        r = lo
        if has_radius:
            r = focal * np.float64(rad[j]) * iz
            r = min(max(r, lo), hi)
        e = r * reach_k
        ok = (z > near) & (z < math.inf)
        ok = ok & (u + e - 0.5 >= 0) & (u - e - 0.5 <= wm1) & (v + e - 0.5 >= 0) & (v - e - 0.5 <= hm1)
        # Not drawn: harmless finite values, so that nothing below converts a NaN to an integer.
        u = u if ok else 0.0
        v = v if ok else 0.0
        e = e if ok else 0.0
        x0 = max(np.int64(math.ceil(u - e - 0.5)), 0)
        x1 = min(np.int64(math.floor(u + e - 0.5)), width - 1)
        y0 = max(np.int64(math.ceil(v - e - 0.5)), 0)
        y1 = min(np.int64(math.floor(v + e - 0.5)), height - 1)
        one = (x0 == x1) & (y0 == y1)
        dx = (x0 + 0.5) - u
        dy = (y0 + 0.5) - v
        d2 = dx * dx + dy * dy
        s = sigma_scale * r
        fa[j] = -0.5 * d2 / (s * s)
        fq[j] = s
        drop = one & round_fp & (d2 > e * e)
        drawn = ok & (not drop)
        code[j] = np.int32(-1 if not drawn else (y0 * width + x0 if one else -2 - y0))
        rec_z[j] = np.float32(z)
        fu[j] = u
        fv[j] = v
        fe[j] = e
    _exp_block(fa[:nb], ep[:nb], es[:nb], fg[:nb])
    for j in range(nb):
        w, good = _to_f32(ep[j], es[j])
        rec_w[j] = w  # used only where the footprint is one pixel
        fg[j] = good & fg[j]
    for j in range(nb):
        if code[j] >= 0 and not fg[j]:
            rec_w[j] = np.float32(math.exp(fa[j]))


@njit(cache=True, error_model="numpy")
def _small_weights(u, v, e, sr, x0, y0, round_fp, w4, ok, ea, ep, es, ei):
    """The 2 x 2 weights float32(exp(q dx²) exp(q dy²)) of footprints that start at pixel (x0, y0), by the
    vectorised exp: ok[t] is False where one of them may differ from math.exp's (the caller recomputes).
    ea, ep, es, ei: work arrays of 4 x len(u)."""
    n = u.shape[0]
    for t in range(n):
        dx0 = (x0[t] + 0.5) - u[t]
        dx1 = (x0[t] + 1.5) - u[t]
        dy0 = (y0[t] + 0.5) - v[t]
        dy1 = (y0[t] + 1.5) - v[t]
        q = -0.5 / (sr[t] * sr[t])
        ea[t] = q * (dx0 * dx0)
        ea[n + t] = q * (dx1 * dx1)
        ea[2 * n + t] = q * (dy0 * dy0)
        ea[3 * n + t] = q * (dy1 * dy1)
    _exp_block(ea[: 4 * n], ep[: 4 * n], es[: 4 * n], ei[: 4 * n])
    for t in range(n):
        pa, pb, pc, pd = ep[t], ep[n + t], ep[2 * n + t], ep[3 * n + t]
        sa, sb, sc, sd = es[t], es[n + t], es[2 * n + t], es[3 * n + t]
        w00, o00 = _to_f32(pa * pc, sa * sc)
        w01, o01 = _to_f32(pb * pc, sb * sc)
        w10, o10 = _to_f32(pa * pd, sa * sd)
        w11, o11 = _to_f32(pb * pd, sb * sd)
        if round_fp:
            dx0 = (x0[t] + 0.5) - u[t]
            dx1 = (x0[t] + 1.5) - u[t]
            dy0 = (y0[t] + 0.5) - v[t]
            dy1 = (y0[t] + 1.5) - v[t]
            ee = e[t] * e[t]
            w00 = w00 if not (dx0 * dx0 + dy0 * dy0 > ee) else np.float32(0.0)
            w01 = w01 if not (dx1 * dx1 + dy0 * dy0 > ee) else np.float32(0.0)
            w10 = w10 if not (dx0 * dx0 + dy1 * dy1 > ee) else np.float32(0.0)
            w11 = w11 if not (dx1 * dx1 + dy1 * dy1 > ee) else np.float32(0.0)
        w4[4 * t] = w00
        w4[4 * t + 1] = w01
        w4[4 * t + 2] = w10
        w4[4 * t + 3] = w11
        ok[t] = ei[t] & ei[n + t] & ei[2 * n + t] & ei[3 * n + t] & o00 & o01 & o10 & o11


@njit(cache=True, error_model="numpy")
def _small_weights_exact(u, v, e, sr, x0, y0, round_fp, w4):
    """`_small_weights` for one footprint with math.exp, as the generic path computes them."""
    q = -0.5 / (sr * sr)
    for a in range(2):
        dy = (y0 + a + 0.5) - v
        wy = math.exp(q * (dy * dy))
        for b in range(2):
            dx = (x0 + b + 0.5) - u
            wx = math.exp(q * (dx * dx))
            w = np.float32(wx * wy)
            if round_fp and dx * dx + dy * dy > e * e:
                w = np.float32(0.0)
            w4[2 * a + b] = w


@njit(cache=True, error_model="numpy")
def _normalise(acc, p0, p1, rgb, mask, depth, half):
    """Pixels p0..p1 of the accumulator into the caller's flat views: weighted means, or zeros where empty.
    Without branches, so that LLVM vectorises it (4x faster): an empty pixel's sums are all zero, and divided by
    one they give the zeros it must have."""
    a = acc[5 * p0 : 5 * p1]
    m = mask[p0:p1]
    d = depth[p0:p1]
    c = rgb[3 * p0 : 3 * p1]
    one = np.float32(1.0)
    for j in range(p1 - p0):
        sw = a[5 * j + 3]
        has = sw > 0
        sw = sw if has else one
        m[j] = has
        # A weighted mean of colours in [0, 255] plus a half is positive: truncation is the floor
        # (a float32 math.floor is a call into numba's helper library).
        c[3 * j] = np.uint8(min(np.int32(a[5 * j] / sw + half), 255))
        c[3 * j + 1] = np.uint8(min(np.int32(a[5 * j + 1] / sw + half), 255))
        c[3 * j + 2] = np.uint8(min(np.int32(a[5 * j + 2] / sw + half), 255))
        d[j] = a[5 * j + 4] / sw


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
    if out is not None and not all(a.flags.c_contiguous for a in (out.rgb, out.mask, out.depth)):
        # The kernel writes through flat views: render into new arrays, then copy into the caller's.
        res = render(points, colors, radius, frame, settings)
        out.rgb[...], out.mask[...], out.depth[...] = res.rgb, res.mask, res.depth
        return out
    if out is None:
        out = RenderOutput(
            rgb=np.empty((h, w, 3), np.uint8), mask=np.empty((h, w), bool), depth=np.empty((h, w), np.float32)
        )
    lo, hi = settings.radius_range
    has_radius = radius is not None
    rad = radius if has_radius else np.zeros(1, np.float32)
    n_chunks = max(1, min(numba.get_num_threads(), len(points) // 4096 + 1))
    code, rec_w, rec_z, side, side_w, zbufs, acc = _scratch(len(points), h * w, n_chunks)
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
        code,
        rec_w,
        rec_z,
        side,
        side_w,
        zbufs,
        acc,
    )
    return out


_SCRATCH = threading.local()


def _scratch(n_points: int, n_pix: int, n_chunks: int):
    """The kernel's work arrays (code, weight, depth per point; the larger footprints' rows, columns and weights;
    per-chunk z-buffers; accumulator), kept per thread and reused by its next call (grown when too small): a
    fresh array's first touch costs page faults, on a virtual machine up to milliseconds per megabyte. Per
    thread, because another thread may render at the same time (the inpaint generator's layer renders beside the
    guidance). Only the pages a frame uses are ever touched (the side entries fill up from each chunk's start)."""
    have = getattr(_SCRATCH, "arrays", None)
    need = (n_points, n_chunks * n_pix, 5 * n_pix)
    if have is None or have[0] < need[0] or have[1] < need[1] or have[2] < need[2]:
        size = need if have is None else tuple(max(a, b) for a, b in zip(have[:3], need, strict=True))
        arrays = (
            np.empty(size[0], np.int32),
            np.empty(size[0], np.float32),
            np.empty(size[0], np.float32),
            np.empty(4 * size[0], np.int32),
            np.empty(4 * size[0], np.float32),
            np.empty(size[1], np.float32),
            np.empty(size[2], np.float32),
        )
        have = _SCRATCH.arrays = (*size, *arrays)
    code, rec_w, rec_z, side, side_w, zbuf, acc = have[3:]
    return (
        code[:n_points],
        rec_w[:n_points],
        rec_z[:n_points],
        side[: 4 * n_points],
        side_w[: 4 * n_points],
        zbuf[: n_chunks * n_pix].reshape(n_chunks, n_pix),
        acc[: 5 * n_pix],
    )
