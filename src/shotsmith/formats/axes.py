"""The one OpenCV <-> OpenGL camera-axes conversion of the code base.

OpenCV camera axes: x right, y down, z forward. OpenGL / NeRF axes: x right, y up, z backward. For a
camera-to-world matrix the two differ by negating columns 1 and 2 (the camera's y and z axes); the world and the
translation are untouched. The map is its own inverse; two names keep call sites readable.
"""

from __future__ import annotations

import numpy as np

_FLIP_YZ = np.array([1.0, -1.0, -1.0, 1.0])


def opengl_from_opencv(world_from_camera: np.ndarray) -> np.ndarray:
    """(..., 4, 4) OpenGL-axes camera-to-world from (..., 4, 4) or (..., 3, 4) OpenCV-axes camera-to-world."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    return m * _FLIP_YZ[: m.shape[-1]]


def opencv_from_opengl(world_from_camera: np.ndarray) -> np.ndarray:
    """(..., 4, 4) OpenCV-axes camera-to-world from (..., 4, 4) or (..., 3, 4) OpenGL-axes camera-to-world."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    return m * _FLIP_YZ[: m.shape[-1]]
