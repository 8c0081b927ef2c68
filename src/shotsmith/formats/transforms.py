"""nerfstudio / instant-ngp `transforms.json`: shotsmith's own trajectory.json, and GenDoP's trajectories.

Layout (docs/FORMATS.md, "transforms"): top-level `w, h, fl_x, fl_y, cx, cy` (pixels), `fps`, `frames` a list of
`{transform_matrix, time}` where `transform_matrix` is a camera-to-world 4x4 (or 3x4) in **OpenGL** camera axes,
per-frame `fl_x, fl_y, cx, cy` overriding the top level, and a `shotsmith` object (`schema_version`, `units`,
`source` = `CameraPath.meta`). GenDoP's `*_transforms_cleaning.json` is the same layout without `fps` or `time`
(frames carry `monst3r_im_id`). This module owns that layout; it does not write atomically (callers pass a
temporary path and rename it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, focal_from_fov
from shotsmith.errors import CameraError
from shotsmith.formats._io import (
    DEFAULT_FPS,
    as_matrix,
    as_number,
    dump_json,
    fail,
    get_key,
    load_json,
    make_camera_path,
    pose_from_3x4,
)
from shotsmith.formats.axes import opencv_from_opengl, opengl_from_opencv

#: Version of the `shotsmith` object written to trajectory.json; files from a newer version are refused.
SCHEMA_VERSION = 1
#: What 1.0 means in files written by shotsmith (docs/CONVENTIONS.md, "Units").
UNITS = "subject_distance"


def _units(meta: dict) -> str:
    """The path's units for the `shotsmith` block: scene units (1.0 = subject distance) unless meta says metres."""
    units = str(meta.get("units") or UNITS)
    return UNITS if units == "scene" else units


#: nerfstudio `camera_model` values read as a pinhole (distortion coefficients, if any, are ignored).
PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV", "SIMPLE_RADIAL", "RADIAL", "FULL_OPENCV")
_INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy")


def looks_like(data) -> bool:
    """True when parsed JSON `data` has the transforms layout (a `frames` list of `transform_matrix`)."""
    frames = data.get("frames") if isinstance(data, dict) else None
    return (
        isinstance(frames, list)
        and bool(frames)
        and isinstance(frames[0], dict)
        and "transform_matrix" in frames[0]
    )


def read_trajectory(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a transforms.json (shotsmith trajectory.json, nerfstudio, instant-ngp or GenDoP) as a `CameraPath`.

    The frame rate is the file's `fps`, else derived from evenly spaced `time` values, else `fps`, else
    `DEFAULT_FPS` (16; GenDoP files have none). `width`/`height`/`fps` given by the caller override the file.
    """
    path = Path(path)
    return camera_path_from_transforms(path, load_json(path), width=width, height=height, fps=fps)


def write_trajectory(path, cam: CameraPath) -> None:
    """Write `cam` to `path` as a transforms.json (shotsmith trajectory.json layout); not atomic."""
    dump_json(Path(path), transforms_from_camera_path(cam))


def camera_path_from_transforms(path: Path, data, *, width=None, height=None, fps=None) -> CameraPath:
    """A `CameraPath` from parsed transforms JSON `data`; `path` names the file in errors."""
    if not isinstance(data, dict):
        raise fail(path, "", f"expected a JSON object with 'frames', got {type(data).__name__}")
    _check_schema(path, data)
    _check_camera_model(path, data)
    frames = get_key(path, data, "frames")
    if not isinstance(frames, list) or not frames:
        raise fail(path, "frames", "expected a non-empty list of frames")

    w, h = _image_size(path, data, frames, width, height)
    top = _top_intrinsics(path, data, w, h)
    mats = np.empty((len(frames), 4, 4))
    intr = np.empty((len(frames), 4))
    times = []
    for i, frame in enumerate(frames):
        where = f"frames[{i}]"
        if not isinstance(frame, dict):
            raise fail(path, where, f"expected an object, got {type(frame).__name__}")
        m = as_matrix(
            path,
            get_key(path, frame, "transform_matrix", where),
            f"{where}.transform_matrix",
            shapes=((4, 4), (3, 4)),
        )
        mats[i] = pose_from_3x4(m)
        values = [
            as_number(path, frame[k], f"{where}.{k}", positive=k.startswith("fl")) if k in frame else top[j]
            for j, k in enumerate(_INTRINSIC_KEYS)
        ]
        if values[0] is None and values[1] is not None:
            values[0] = values[1]
        if values[1] is None:
            values[1] = values[0]
        if values[0] is None:
            raise fail(
                path, where, "no focal length: expected 'fl_x' (top level or per frame) or 'camera_angle_x'"
            )
        intr[i] = values
        if "time" in frame:
            times.append(as_number(path, frame["time"], f"{where}.time"))

    if fps is None:
        fps = _file_fps(path, data, times if len(times) == len(frames) else [])
    src = data.get("shotsmith", {})
    meta = (
        dict(src.get("source", {})) if isinstance(src, dict) and isinstance(src.get("source"), dict) else {}
    )
    if not meta and "shotsmith" not in data:
        meta = {"format": "transforms", "file": path.name}
    return make_camera_path(
        path, opencv_from_opengl(mats), intr, w, h, fps, meta, frame_label=lambda i: f"frames[{i}]"
    )


def transforms_from_camera_path(cam: CameraPath) -> dict:
    """The trajectory.json object for `cam` (per-frame intrinsics only where they differ from frame 0)."""
    fx, fy, cx, cy = (float(v) for v in cam.intrinsics[0])
    varying = not np.array_equal(cam.intrinsics, np.broadcast_to(cam.intrinsics[0], cam.intrinsics.shape))
    gl = opengl_from_opencv(cam.world_from_camera)
    frames = []
    for i in range(len(cam)):
        frame = {"transform_matrix": gl[i].tolist(), "time": i / cam.fps}
        if varying:
            frame.update(zip(_INTRINSIC_KEYS, (float(v) for v in cam.intrinsics[i]), strict=True))
        frames.append(frame)
    return {
        "camera_model": "PINHOLE",
        "w": cam.width,
        "h": cam.height,
        "fl_x": fx,
        "fl_y": fy,
        "cx": cx,
        "cy": cy,
        "fps": cam.fps,
        "frames": frames,
        "shotsmith": {"schema_version": SCHEMA_VERSION, "units": _units(cam.meta), "source": dict(cam.meta)},
    }


# ---------------------------------------------------------------------------------------------------------------


def _check_schema(path: Path, data: dict) -> None:
    block = data.get("shotsmith")
    if block is None:
        return
    if not isinstance(block, dict):
        raise fail(path, "shotsmith", f"expected an object, got {type(block).__name__}")
    version = block.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise fail(path, "shotsmith.schema_version", f"expected an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise fail(
            path,
            "shotsmith.schema_version",
            f"written by a newer shotsmith (schema {version}, this one reads up to {SCHEMA_VERSION}); upgrade shotsmith",
        )


def _check_camera_model(path: Path, data: dict) -> None:
    model = data.get("camera_model")
    if model is not None and model not in PINHOLE_MODELS:
        raise fail(
            path,
            "camera_model",
            f"unsupported camera model {model!r}; expected one of {', '.join(PINHOLE_MODELS)}",
        )


def _image_size(path: Path, data: dict, frames: list, width, height) -> tuple[int, int]:
    def one(key: str, given):
        if given is not None:
            return int(given)
        if key in data:
            return int(as_number(path, data[key], key, positive=True))
        per_frame = {frame.get(key) for frame in frames if isinstance(frame, dict)}
        if len(per_frame) == 1 and None not in per_frame:
            return int(as_number(path, per_frame.pop(), f"frames[0].{key}", positive=True))
        if len(per_frame) > 1:
            raise fail(
                path,
                key,
                f"frames have different image sizes {sorted(map(str, per_frame))}; expected one size",
            )
        raise fail(path, "", f"missing key {key!r} (image size); pass the size explicitly (--width/--height)")

    return one("w", width), one("h", height)


def _top_intrinsics(path: Path, data: dict, w: int, h: int) -> list:
    fx = data.get("fl_x")
    fx = as_number(path, fx, "fl_x", positive=True) if fx is not None else None
    if fx is None and "camera_angle_x" in data:
        try:
            fx = focal_from_fov(np.degrees(as_number(path, data["camera_angle_x"], "camera_angle_x")), w)
        except CameraError as exc:
            raise fail(path, "camera_angle_x", str(exc)) from None
    fy = as_number(path, data["fl_y"], "fl_y", positive=True) if "fl_y" in data else None
    if fy is None and "camera_angle_y" in data:
        try:
            fy = focal_from_fov(np.degrees(as_number(path, data["camera_angle_y"], "camera_angle_y")), h)
        except CameraError as exc:
            raise fail(path, "camera_angle_y", str(exc)) from None
    cx = as_number(path, data["cx"], "cx") if "cx" in data else w / 2.0
    cy = as_number(path, data["cy"], "cy") if "cy" in data else h / 2.0
    return [fx, fy, cx, cy]


def _file_fps(path: Path, data: dict, times: list) -> float:
    if "fps" in data:
        return as_number(path, data["fps"], "fps", positive=True)
    if len(times) >= 2:
        steps = np.diff(times)
        if (steps > 0).all() and np.ptp(steps) <= 1e-6 * steps.mean() + 1e-9:
            return float(1.0 / steps.mean())
    return DEFAULT_FPS
