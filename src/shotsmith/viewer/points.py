"""Point-cloud helpers of the viewer (pure numpy): subsampling for the browser, point size, picking by a ray.

A browser draws a few hundred thousand points smoothly, WebGL in software far fewer; `subsample` keeps an
evenly random, reproducible subset (the cache's points are in pixel order, so a plain stride would draw moiré
lines). `pick` finds the cloud point a click ray hits: among the points within an angular tolerance of the ray,
the nearest to the eye. `source_pixel` is the source image's pixel under a world point, what
`insert-object --at-pixel` takes.
"""

from __future__ import annotations

import numpy as np

#: Points sent to the browser by default (viser draws 200k points at interactive rates, ENV.md).
DEFAULT_MAX_POINTS = 200_000


def subsample(
    points: np.ndarray, colors: np.ndarray, max_points: int = DEFAULT_MAX_POINTS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, colors, indices) of at most `max_points` points, the same every call with the same seed."""
    n = len(points)
    if n <= max_points:
        idx = np.arange(n)
    else:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=int(max_points), replace=False))
    return np.ascontiguousarray(points[idx], np.float32), np.ascontiguousarray(colors[idx], np.uint8), idx


def point_size(points: np.ndarray, fx: float, kept_fraction: float = 1.0) -> float:
    """A world-space point size that closes the gaps of a per-pixel cache seen from the source camera: one source
    pixel at the median depth (z / fx), grown by 1 / sqrt(kept fraction) when the cloud was subsampled."""
    if len(points) == 0:
        return 0.01
    z = float(np.median(np.abs(points[:, 2])))
    return max(1e-4, 1.5 * z / max(fx, 1e-6) / max(kept_fraction, 1e-6) ** 0.5)


def object_point_size(points: np.ndarray) -> float:
    """A point size that closes the gaps of an object's surface samples: about twice their mean spacing."""
    if len(points) < 2:
        return 0.01
    extent = np.ptp(np.asarray(points, np.float64), axis=0)
    area = 2.0 * (extent[0] * extent[1] + extent[1] * extent[2] + extent[0] * extent[2])
    return float(max(2.0 * np.sqrt(max(area, 1e-12) / len(points)), 1e-4))


def bounds(points: np.ndarray, extra: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(centre (3,), radius) of the robust extent (2nd..98th percentile) of points and extra positions."""
    parts = [p for p in (points, extra) if p is not None and len(p)]
    if not parts:
        return np.array([0.0, 0.0, 1.0]), 1.0
    allp = np.concatenate([np.asarray(p, np.float64).reshape(-1, 3) for p in parts])
    lo, hi = np.percentile(allp, [2, 98], axis=0)
    return (lo + hi) / 2.0, max(float(np.linalg.norm(hi - lo)) / 2.0, 0.1)


def pick(points: np.ndarray, origin, direction, tolerance_deg: float = 0.75) -> int | None:
    """Index of the point a ray from `origin` along `direction` hits (within `tolerance_deg`), nearest the eye
    first; None when no point is that close to the ray."""
    if len(points) == 0:
        return None
    o = np.asarray(origin, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    d = d / max(np.linalg.norm(d), 1e-12)
    rel = np.asarray(points, dtype=np.float64) - o
    along = rel @ d
    perp = np.linalg.norm(rel - along[:, None] * d, axis=1)
    ok = (along > 1e-6) & (perp <= np.tan(np.radians(tolerance_deg)) * along)
    if not ok.any():
        return None
    cand = np.flatnonzero(ok)
    # The nearest surface: of the candidates, those within 2% of the closest distance, then the best aligned.
    near = along[cand].min()
    front = cand[along[cand] <= near * 1.02 + 1e-9]
    return int(front[np.argmin(perp[front] / along[front])])


def source_pixel(point, world_from_camera: np.ndarray, intrinsics) -> tuple[float, float] | None:
    """(u, v) of a world point in the source image (pixel centres at integer + 0.5), or None behind it."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    rot, t = m[:3, :3], m[:3, 3]
    x = rot.T @ (np.asarray(point, dtype=np.float64) - t)
    if x[2] <= 1e-9:
        return None
    fx, fy, cx, cy = (float(v) for v in np.asarray(intrinsics).reshape(-1)[:4])
    return fx * x[0] / x[2] + cx, fy * x[1] / x[2] + cy
