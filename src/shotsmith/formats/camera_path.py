"""nerfstudio `camera_path.json` (what the nerfstudio viewer exports and `ns-render camera-path` reads).

Layout: `camera_type` ("perspective"; we refuse "fisheye", "equirectangular" and anything else),
`render_width`, `render_height`, `fps`, `seconds`, and `camera_path`: a list of `{camera_to_world, fov, aspect}`
where `camera_to_world` is 16 numbers, a row-major 4x4 camera-to-world in **OpenGL** axes, and `fov` the
**vertical** field of view in degrees. nerfstudio builds fx = fy = height / (2 tan(fov / 2)) and a centred
principal point, so writing drops fx != fy and off-centre principal points (the vertical focal is kept).
This module owns that layout.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, fov_from_focal
from shotsmith.formats._io import (
    DEFAULT_FPS,
    as_matrix,
    as_number,
    dump_json,
    fail,
    get_key,
    load_json,
    make_camera_path,
)
from shotsmith.formats.axes import opencv_from_opengl, opengl_from_opencv

CAMERA_TYPES = ("perspective",)


def looks_like(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("camera_path"), list)


def read_camera_path(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a nerfstudio camera_path.json as a `CameraPath` (caller's size/fps override the file's)."""
    path = Path(path)
    data = load_json(path)
    if not looks_like(data):
        raise fail(path, "camera_path", "expected a nerfstudio camera path with a 'camera_path' list")
    kind = data.get("camera_type", "perspective")
    if kind not in CAMERA_TYPES:
        raise fail(
            path,
            "camera_type",
            f"unsupported camera type {kind!r}; expected one of {', '.join(CAMERA_TYPES)}",
        )
    file_w = int(as_number(path, get_key(path, data, "render_width"), "render_width", positive=True))
    file_h = int(as_number(path, get_key(path, data, "render_height"), "render_height", positive=True))
    w = file_w if width is None else int(width)
    h = file_h if height is None else int(height)
    if fps is None:
        fps = as_number(path, data["fps"], "fps", positive=True) if "fps" in data else DEFAULT_FPS
    keyframes = data["camera_path"]
    if not keyframes:
        raise fail(path, "camera_path", "is empty; expected at least one camera")
    mats = np.empty((len(keyframes), 4, 4))
    focal = np.empty(len(keyframes))
    for i, frame in enumerate(keyframes):
        where = f"camera_path[{i}]"
        flat = as_matrix(
            path,
            get_key(path, frame, "camera_to_world", where),
            f"{where}.camera_to_world",
            shapes=((16,), (4, 4)),
        )
        mats[i] = flat.reshape(4, 4)
        fov = as_number(path, get_key(path, frame, "fov", where), f"{where}.fov", positive=True)
        if fov >= 180:
            raise fail(
                path, f"{where}.fov", f"expected a vertical field of view below 180 degrees, got {fov}"
            )
        focal[i] = 0.5 * h / math.tan(math.radians(fov) / 2)
    intr = np.stack([focal, focal, np.full_like(focal, w / 2), np.full_like(focal, h / 2)], axis=1)
    meta = {"format": "camera_path", "file": path.name}
    return make_camera_path(
        path, opencv_from_opengl(mats), intr, w, h, fps, meta, frame_label=lambda i: f"camera_path[{i}]"
    )


def write_camera_path(path, cam: CameraPath) -> None:
    """Write `cam` as a nerfstudio camera_path.json (vertical fov from fy; fx and the principal point dropped)."""
    gl = opengl_from_opencv(cam.world_from_camera)
    data = {
        "camera_type": "perspective",
        "render_height": cam.height,
        "render_width": cam.width,
        "camera_path": [
            {
                "camera_to_world": gl[i].reshape(16).tolist(),
                "fov": fov_from_focal(float(cam.intrinsics[i, 1]), cam.height),
                "aspect": cam.width / cam.height,
            }
            for i in range(len(cam))
        ],
        "fps": cam.fps,
        "seconds": cam.duration,
        "is_cycle": False,
        "smoothness_value": 0.0,
    }
    dump_json(Path(path), data)
