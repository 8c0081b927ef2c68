"""Regenerate assets/cone.ply: a small vertex-coloured traffic cone (orange with white stripes, dark base),
modelled in code for the demo and tests. Y is up, the base sits at y = 0, height 1.0. Public domain (CC0).

Run: .venv/bin/python assets/make_cone.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh


def make_cone(segments: int = 48) -> trimesh.Trimesh:
    base = trimesh.creation.box(extents=(0.9, 0.08, 0.9))
    base.apply_translation((0, 0.04, 0))
    base.visual.vertex_colors = np.tile([40, 40, 40, 255], (len(base.vertices), 1))
    # Body: stacked truncated-cone rings so stripes get their own vertices.
    heights = np.array([0.08, 0.35, 0.45, 0.62, 0.72, 1.0])
    radii = 0.38 * (1.0 - (heights - 0.08) / 0.92 * 0.85)
    colors = [(255, 110, 20), (255, 255, 255), (255, 110, 20), (255, 255, 255), (255, 110, 20)]
    parts = [base]
    ang = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    for k in range(len(heights) - 1):
        r0, r1, y0, y1 = radii[k], radii[k + 1], heights[k], heights[k + 1]
        ring0 = np.stack([r0 * np.cos(ang), np.full(segments, y0), r0 * np.sin(ang)], 1)
        ring1 = np.stack([r1 * np.cos(ang), np.full(segments, y1), r1 * np.sin(ang)], 1)
        verts = np.concatenate([ring0, ring1])
        i = np.arange(segments)
        j = (i + 1) % segments
        faces = np.concatenate([np.stack([i, i + segments, j], 1), np.stack([j, i + segments, j + segments], 1)])
        m = trimesh.Trimesh(verts, faces, process=False)
        m.visual.vertex_colors = np.tile([*colors[k], 255], (len(verts), 1))
        parts.append(m)
    cone = trimesh.util.concatenate(parts)
    return cone


if __name__ == "__main__":
    out = Path(__file__).with_name("cone.ply")
    make_cone().export(out, encoding="binary")
    print(f"wrote {out}")
