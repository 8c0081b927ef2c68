"""The plain, slow point renderer: the test oracle for the torch and numba backends.

Owns nothing but a literal reading of the rule in `shotsmith.render.types`: Python loops over points and the
pixels of their footprint, one z-buffer pass, one blending pass, float64 accumulators. Use it only on tiny scenes
(thousands of points); it is written to be obviously correct, not fast.
"""

from __future__ import annotations

import math

import numpy as np

from shotsmith.render.types import Frame, RenderOutput, RenderSettings


def _project(point, rad, frame: Frame, settings: RenderSettings):
    """(u, v, z, r) of one point, or None when it cannot touch the image."""
    m = frame.camera_from_world.tolist()
    x, y, zw = float(point[0]), float(point[1]), float(point[2])
    xc = m[0][0] * x + m[0][1] * y + m[0][2] * zw + m[0][3]
    yc = m[1][0] * x + m[1][1] * y + m[1][2] * zw + m[1][3]
    z = m[2][0] * x + m[2][1] * y + m[2][2] * zw + m[2][3]
    if not (z > settings.near and z < math.inf):
        return None
    iz = 1.0 / z
    u = frame.fx * xc * iz + frame.cx
    v = frame.fy * yc * iz + frame.cy
    lo, hi = settings.radius_range
    r = lo if rad is None else min(max(frame.focal * float(rad) * iz, lo), hi)
    reach = r * settings.reach_factor
    if not (u + reach - 0.5 >= 0 and u - reach - 0.5 <= frame.width - 1):
        return None
    if not (v + reach - 0.5 >= 0 and v - reach - 0.5 <= frame.height - 1):
        return None
    return u, v, z, r


def _footprint(u: float, v: float, r: float, frame: Frame, settings: RenderSettings):
    """Yield (px, py, weight) for every pixel the footprint covers."""
    reach = r * settings.reach_factor
    x0, x1 = max(math.ceil(u - reach - 0.5), 0), min(math.floor(u + reach - 0.5), frame.width - 1)
    y0, y1 = max(math.ceil(v - reach - 0.5), 0), min(math.floor(v + reach - 0.5), frame.height - 1)
    s = settings.kernel_sigma * r
    for py in range(y0, y1 + 1):
        for px in range(x0, x1 + 1):
            dx = (px + 0.5) - u
            dy = (py + 0.5) - v
            d2 = dx * dx + dy * dy
            if settings.footprint == "round" and d2 > reach * reach:
                continue
            yield px, py, math.exp(-0.5 * d2 / (s * s))


def render(
    points: np.ndarray, colors: np.ndarray, radius: np.ndarray | None, frame: Frame, settings: RenderSettings
) -> RenderOutput:
    """Render prepared inputs (see `shotsmith.render.render_points`) with plain loops."""
    h, w = frame.height, frame.width
    projected = []
    for i in range(len(points)):
        p = _project(points[i], None if radius is None else radius[i], frame, settings)
        if p is not None:
            projected.append((i, *p))

    zbuf = np.full((h, w), np.inf, np.float32)
    for _i, u, v, z, r in projected:
        z32 = np.float32(z)
        for px, py, _weight in _footprint(u, v, r, frame, settings):
            zbuf[py, px] = min(zbuf[py, px], z32)

    threshold = zbuf * np.float32(1.0 + settings.depth_tolerance)
    acc = np.zeros((h, w, 5), np.float64)  # r g b weight weight*z
    for i, u, v, z, r in projected:
        z32 = np.float32(z)
        for px, py, weight in _footprint(u, v, r, frame, settings):
            if z32 <= threshold[py, px]:
                acc[py, px, :3] += weight * colors[i].astype(np.float64)
                acc[py, px, 3] += weight
                acc[py, px, 4] += weight * float(z32)

    mask = acc[..., 3] > 0
    rgb = np.zeros((h, w, 3), np.uint8)
    depth = np.zeros((h, w), np.float32)
    wsum = acc[mask, 3]
    rgb[mask] = np.clip(np.floor(acc[mask, :3] / wsum[:, None] + 0.5), 0, 255).astype(np.uint8)
    depth[mask] = (acc[mask, 4] / wsum).astype(np.float32)
    return RenderOutput(rgb=rgb, mask=mask, depth=depth)
