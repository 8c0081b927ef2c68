"""The vectorised torch point renderer: the rule of `shotsmith.render.types`, chunked to bound memory.

Owns the torch implementation only (CPU or whatever device the tensors are on); the public entry points, input
checks and backend choice live in `shotsmith.render`. Each point is expanded into the (point, pixel) samples of its
footprint, grouped by footprint side so every group is one dense tensor; at most
`RenderSettings.max_samples_per_chunk` samples exist at once. Pass 1 builds the z-buffer with
`scatter_reduce("amin")`, pass 2 re-creates the samples and accumulates the visible ones with `index_add_`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from shotsmith.render.types import Frame, RenderOutput, RenderSettings


def _project(points: torch.Tensor, radius: torch.Tensor | None, frame: Frame, settings: RenderSettings):
    """(u, v, z, r) float64 and z32 float32 of the points that can touch the image, plus their indices."""
    m = frame.camera_from_world
    x, y, zw = points[:, 0], points[:, 1], points[:, 2]
    xc = m[0, 0] * x + m[0, 1] * y + m[0, 2] * zw + m[0, 3]
    yc = m[1, 0] * x + m[1, 1] * y + m[1, 2] * zw + m[1, 3]
    z = m[2, 0] * x + m[2, 1] * y + m[2, 2] * zw + m[2, 3]
    iz = 1.0 / z
    u = frame.fx * xc * iz + frame.cx
    v = frame.fy * yc * iz + frame.cy
    lo, hi = settings.radius_range
    if radius is None:
        r = torch.full_like(z, lo)
    else:
        r = (frame.focal * radius * iz).clamp(lo, hi)
    reach = r * settings.reach_factor
    valid = (
        (z > settings.near)
        & (z < float("inf"))
        & (u + reach - 0.5 >= 0)
        & (u - reach - 0.5 <= frame.width - 1)
        & (v + reach - 0.5 >= 0)
        & (v - reach - 0.5 <= frame.height - 1)
    )
    index = torch.nonzero(valid).squeeze(1)
    return index, u[index], v[index], z[index], r[index]


def _samples(
    projected, frame: Frame, settings: RenderSettings
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield (pixel index int64, z float32, weight float32, point index int64) chunks of footprint samples."""
    index, u, v, z, r = projected
    if len(index) == 0:
        return
    w_img, h_img = frame.width, frame.height
    reach = r * settings.reach_factor
    x0 = torch.ceil(u - reach - 0.5).clamp(min=0).long()
    x1 = torch.floor(u + reach - 0.5).clamp(max=w_img - 1).long()
    y0 = torch.ceil(v - reach - 0.5).clamp(min=0).long()
    y1 = torch.floor(v + reach - 0.5).clamp(max=h_img - 1).long()
    side = torch.floor(2.0 * reach).long() + 1  # most pixels a footprint spans along one axis
    for n in torch.unique(side).tolist():
        group = torch.nonzero(side == n).squeeze(1)
        offsets = torch.arange(n, device=u.device)
        oy, ox = torch.meshgrid(offsets, offsets, indexing="ij")
        ox, oy = ox.reshape(1, -1), oy.reshape(1, -1)
        step = max(1, settings.max_samples_per_chunk // (n * n))
        for start in range(0, len(group), step):
            g = group[start : start + step]
            px = x0[g, None] + ox
            py = y0[g, None] + oy
            keep = (px <= x1[g, None]) & (py <= y1[g, None])
            dx = (px.double() + 0.5) - u[g, None]
            dy = (py.double() + 0.5) - v[g, None]
            d2 = dx * dx + dy * dy
            if settings.footprint == "round":
                reach_g = reach[g, None]
                keep &= d2 <= reach_g * reach_g
            s = settings.kernel_sigma * r[g, None]
            weight = torch.exp(-0.5 * d2 / (s * s))
            rows, cols = torch.nonzero(keep, as_tuple=True)
            pix = py[rows, cols] * w_img + px[rows, cols]
            pid = g[rows]
            yield pix, z[pid].float(), weight[rows, cols].float(), index[pid]


def render(
    points: np.ndarray, colors: np.ndarray, radius: np.ndarray | None, frame: Frame, settings: RenderSettings
) -> RenderOutput:
    """Render prepared inputs (see `shotsmith.render.render_points`) with torch on the CPU."""
    pts = torch.from_numpy(np.ascontiguousarray(points)).double()
    rad = None if radius is None else torch.from_numpy(np.ascontiguousarray(radius)).double()
    projected = _project(pts, rad, frame, settings)
    n_pix = frame.width * frame.height
    zbuf = torch.full((n_pix,), float("inf"), dtype=torch.float32)
    for pix, z, _w, _pid in _samples(projected, frame, settings):
        zbuf.scatter_reduce_(0, pix, z, reduce="amin", include_self=True)
    threshold = zbuf * torch.tensor(np.float32(1.0 + settings.depth_tolerance))
    col = torch.from_numpy(np.ascontiguousarray(colors))
    acc = torch.zeros((n_pix, 5), dtype=torch.float32)  # r g b weight weight*z
    for pix, z, w, pid in _samples(projected, frame, settings):
        keep = z <= threshold[pix]
        pix, z, w, pid = pix[keep], z[keep], w[keep], pid[keep]
        contrib = torch.empty((len(pix), 5), dtype=torch.float32)
        contrib[:, :3] = w[:, None] * col[pid].float()
        contrib[:, 3] = w
        contrib[:, 4] = w * z
        acc.index_add_(0, pix, contrib)
    return _finish(acc, frame)


def _finish(acc: torch.Tensor, frame: Frame) -> RenderOutput:
    wsum = acc[:, 3]
    mask = wsum > 0
    safe = torch.where(mask, wsum, torch.ones_like(wsum))
    rgb = torch.floor(acc[:, :3] / safe[:, None] + 0.5).clamp(0, 255).to(torch.uint8)
    rgb[~mask] = 0
    depth = torch.where(mask, acc[:, 4] / safe, torch.zeros_like(wsum))
    h, w = frame.height, frame.width
    return RenderOutput(
        rgb=rgb.reshape(h, w, 3).numpy(),
        mask=mask.reshape(h, w).numpy(),
        depth=depth.reshape(h, w).numpy().astype(np.float32),
    )
