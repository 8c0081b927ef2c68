"""Compiled per-pixel kernels of `shotsmith.recapture`'s fill (numba): one pass over a frame instead of numpy's
dozen temporaries. Each computes exactly what the numpy rule in `recapture` does (float32 throughout, the same
comparisons; tests/test_recapture.py compares them). They release the GIL (`nogil`), so the 4D render gathers
frame t+1's points on a thread while frame t splats. Compiled once per machine (`cache=True`), then cached on disk.
Imported only when a 4D cache is rendered (numba is slow to import).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def colour_diff_max(a, b):
    """(H, W) uint8 largest per-channel |a - b| of two (H, W, 3) uint8 images."""
    h, w = a.shape[0], a.shape[1]
    out = np.empty((h, w), np.uint8)
    for i in range(h):
        for j in range(w):
            m = 0
            for k in range(3):
                d = abs(np.int16(a[i, j, k]) - np.int16(b[i, j, k]))
                if d > m:
                    m = d
            out[i, j] = m
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def same_camera_fill(depth_s, seen_t, depth_t, lend, same, static_t, use_same, use_static, tolerance, band):
    """(H, W) bool: which of frame s's points (`lend`, depth `depth_s`) fill target frame t seen from the same
    camera: `recapture._accept` (sees through: rejected; on frame t's own surface within `tolerance`, or within
    `band` where `same`: skipped) and, with `use_static`, not behind frame t's static surface (`static_t`)."""
    h, w = depth_s.shape
    out = np.zeros((h, w), np.bool_)
    through = np.float32(1.0 + tolerance)
    tol = np.float32(tolerance)
    bnd = np.float32(band)
    zero = np.float32(0.0)
    for i in range(h):
        for j in range(w):
            if not lend[i, j]:
                continue
            z = depth_s[i, j]
            if z <= zero:
                continue
            seen = seen_t[i, j]
            if seen > zero and seen > z * through:
                continue
            have = depth_t[i, j]
            if have > zero:
                d = abs(have - z)
                if d <= tol * z:
                    continue
                if use_same and same[i, j] and d <= bnd * z:
                    continue
                if use_static and static_t[i, j] and z > have * through:
                    continue
            out[i, j] = True
    return out
