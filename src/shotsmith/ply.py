"""Point-cloud PLY files: binary little-endian, float32 x y z and uint8 red green blue (Blender, MeshLab and
Open3D open them). Reading accepts any PLY vertex element with x y z (colours optional, float or uint8)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from shotsmith.errors import FormatError


def write_points(path: str | os.PathLike, points: np.ndarray, colors: np.ndarray | None = None) -> None:
    """Write (P, 3) points and optional (P, 3) uint8 colours (grey 200 when absent)."""
    from plyfile import PlyData, PlyElement

    points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    if colors is None:
        colors = np.full(points.shape, 200, dtype=np.uint8)
    colors = np.asarray(colors).reshape(-1, 3)
    if colors.dtype != np.uint8:
        colors = np.clip(np.round(colors * (255.0 if colors.max(initial=0) <= 1.0 else 1.0)), 0, 255).astype(
            np.uint8
        )
    vertex = np.empty(
        len(points),
        dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")],
    )
    vertex["x"], vertex["y"], vertex["z"] = points[:, 0], points[:, 1], points[:, 2]
    vertex["red"], vertex["green"], vertex["blue"] = colors[:, 0], colors[:, 1], colors[:, 2]
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(str(path))


def read_points(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """(P, 3) float32 points and (P, 3) uint8 colours or None. Raises FormatError naming the file."""
    from plyfile import PlyData

    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such PLY file")
    try:
        ply = PlyData.read(str(path))
    except Exception as exc:  # plyfile raises several types for corrupt files
        raise FormatError(f"{path}: not a readable PLY file ({exc})") from exc
    if "vertex" not in ply:
        raise FormatError(f"{path}: PLY has no 'vertex' element; expected a point cloud with x y z")
    v = ply["vertex"].data
    names = v.dtype.names or ()
    if not {"x", "y", "z"} <= set(names):
        raise FormatError(f"{path}: PLY vertices lack x y z (found {', '.join(names)})")
    points = np.stack([v["x"], v["y"], v["z"]], axis=1).astype(np.float32)
    colors = None
    for keys in (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue")):
        if set(keys) <= set(names):
            c = np.stack([v[k] for k in keys], axis=1)
            if c.dtype.kind == "f":
                c = np.clip(np.round(c * (255.0 if c.max(initial=0) <= 1.0 else 1.0)), 0, 255)
            colors = c.astype(np.uint8)
            break
    return points, colors
