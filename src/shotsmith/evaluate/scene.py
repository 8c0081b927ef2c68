"""A synthetic check scene: a textured box room rendered by ray casting along any camera path.

The known-answer scene on which tests and the benchmark check the measurement itself (plenty of texture at
every scale, depth variation, no occlusion). Nothing else in shotsmith depends on it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from shotsmith.camera import CameraPath
from shotsmith.errors import InputError


@dataclass(frozen=True)
class BoxRoom:
    """A closed box room with smooth multi-scale random textures on its six walls: a known-answer scene for
    checking pose estimation (plenty of texture at every scale, depth variation, no occlusion)."""

    half_size: tuple[float, float, float] = (2.0, 1.5, 3.0)
    """Half extents (x, y, z) in scene units."""
    center: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """Room centre; the default puts the origin camera 2 units from the front wall."""
    seed: int = 0
    """Texture seed."""
    texture_size: int = 512
    """Texture resolution per wall."""


@functools.lru_cache(maxsize=4)
def _wall_textures(room: BoxRoom) -> np.ndarray:
    from scipy.ndimage import zoom

    rng = np.random.default_rng(room.seed)
    res = room.texture_size
    out = np.zeros((6, res, res, 3), np.float32)
    for face in range(6):
        tex = np.zeros((res, res, 3))
        for cells, weight in ((4, 1.0), (8, 0.8), (16, 0.6), (32, 0.5), (64, 0.4)):
            grid = rng.random((cells, cells, 3))
            tex += (
                weight
                * zoom(grid, (res / cells, res / cells, 1), order=1, mode="grid-wrap", grid_mode=True)[
                    :res, :res
                ]
            )
        tex = (tex - tex.min()) / (tex.max() - tex.min())
        out[face] = tex * 255.0
    out.setflags(write=False)  # cached: shared between calls
    return out


def render_box_room(cam: CameraPath, room: BoxRoom = BoxRoom()) -> np.ndarray:
    """(N, H, W, 3) uint8 frames of `room` seen along `cam` (ray casting; the cameras must be inside the room)."""
    tex = _wall_textures(room)
    half = np.asarray(room.half_size, np.float64)
    centre = np.asarray(room.center, np.float64)
    h, w = cam.height, cam.width
    v, u = np.mgrid[0:h, 0:w] + 0.5
    frames = np.zeros((len(cam), h, w, 3), np.uint8)
    res = room.texture_size
    for k in range(len(cam)):
        fx, fy, cx, cy = cam.intrinsics[k]
        rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
        d = rays @ cam.world_from_camera[k, :3, :3].T
        o = cam.world_from_camera[k, :3, 3] - centre
        if (np.abs(o) >= half).any():
            raise InputError(f"render_box_room: camera {k} at {o + centre} is outside the room")
        best = np.full((h, w), np.inf)
        face = np.zeros((h, w), np.int64)
        for axis in range(3):
            for side, sign in enumerate((-1.0, 1.0)):
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = (sign * half[axis] - o[axis]) / d[..., axis]
                hit = (t > 0) & (t < best)
                best = np.where(hit, t, best)
                face = np.where(hit, 2 * axis + side, face)
        p = o + d * best[..., None]
        img = np.zeros((h, w, 3), np.float32)
        for f in range(6):
            axis = f // 2
            others = [a for a in range(3) if a != axis]
            m = face == f
            uv = p[m][:, others] / (2.0 * half[others]) + 0.5
            ij = np.clip(uv * (res - 1), 0, res - 1)
            i0 = np.floor(ij).astype(np.int64)
            i1 = np.minimum(i0 + 1, res - 1)
            a = ij - i0
            t00 = tex[f][i0[:, 1], i0[:, 0]]
            t10 = tex[f][i0[:, 1], i1[:, 0]]
            t01 = tex[f][i1[:, 1], i0[:, 0]]
            t11 = tex[f][i1[:, 1], i1[:, 0]]
            ax, ay = a[:, :1], a[:, 1:]
            img[m] = (t00 * (1 - ax) + t10 * ax) * (1 - ay) + (t01 * (1 - ax) + t11 * ax) * ay
        frames[k] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return frames
