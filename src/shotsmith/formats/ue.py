"""ReCamMaster / SynCamMaster Unreal-Engine camera JSON (`camera_extrinsics.json`, Hemi36 rigs).

Layout: `{"frame0": {"cam01": "[r r r 0] [r r r 0] [r r r 0] [tx ty tz 1]", ...}, ...}` (frames x cameras), or
`{"C_01_18mm": "<4 rows>", ...}` (one frame per camera, the old Hemi36 rigs). Each string is an Unreal
transform in row-vector layout: rows = camera forward (UE X), right (UE Y), up (UE Z), position, in a
left-handed, Z-up world measured in centimetres.

Conversion (docs/FORMATS.md, "ue"): with P the change of basis x = UE Y (right), y = -UE Z (down), z = UE X
(forward), world_from_camera = P · c2w_UE · Pᵀ and position / `scale` (100 for ReCamMaster, 200 for
SynCamMaster). Because P is applied on both sides the rotation stays proper (P flips the world's handedness
exactly as it flips the camera's), and relative motions equal those of ReCamMaster's own conversion (transpose,
permute columns [1, 2, 0], negate column 1, divide by 100). This module owns that mapping and its inverse.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid, orthonormalize
from shotsmith.formats._io import (
    DEFAULT_FPS,
    dump_json,
    fail,
    fallback_intrinsics,
    load_json,
    make_camera_path,
    resolve_size,
)

#: Centimetres per output unit: ReCamMaster divides positions by 100 (metres), SynCamMaster by 200.
UE_SCALES = {"recammaster": 100.0, "syncammaster": 200.0}
DEFAULT_UE_SCALE = UE_SCALES["recammaster"]
#: Change of basis from UE axes (X forward, Y right, Z up) to OpenCV-like axes (x right, y down, z forward).
OPENCV_FROM_UE_AXES = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])

#: UE strings are printed with about 6 significant digits: rotations this close to orthonormal are re-projected.
ROTATION_TOL = 1e-3

_ROW = re.compile(r"\[([^\[\]]*)\]")
_FRAME_KEY = re.compile(r"^frame(\d+)$")


# ---------------------------------------------------------------------------------------------------------------
# Pure conversions


def opencv_from_ue(ue_rows: np.ndarray, scale: float = DEFAULT_UE_SCALE) -> np.ndarray:
    """(..., 4, 4) OpenCV world_from_camera from (..., 4, 4) UE row-vector transforms (positions in cm)."""
    ue_rows = np.asarray(ue_rows, dtype=np.float64)
    c2w_ue = np.swapaxes(ue_rows, -1, -2)
    out = np.zeros(ue_rows.shape)
    out[..., :3, :3] = OPENCV_FROM_UE_AXES @ c2w_ue[..., :3, :3] @ OPENCV_FROM_UE_AXES.T
    out[..., :3, 3] = np.einsum("ij,...j->...i", OPENCV_FROM_UE_AXES, c2w_ue[..., :3, 3]) / scale
    out[..., 3, 3] = 1.0
    return out


def ue_from_opencv(world_from_camera: np.ndarray, scale: float = DEFAULT_UE_SCALE) -> np.ndarray:
    """(..., 4, 4) UE row-vector transforms (positions in cm) from (..., 4, 4) OpenCV world_from_camera."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    c2w_ue = np.zeros(m.shape)
    c2w_ue[..., :3, :3] = OPENCV_FROM_UE_AXES.T @ m[..., :3, :3] @ OPENCV_FROM_UE_AXES
    c2w_ue[..., :3, 3] = np.einsum("ji,...j->...i", OPENCV_FROM_UE_AXES, m[..., :3, 3]) * scale
    c2w_ue[..., 3, 3] = 1.0
    return np.swapaxes(c2w_ue, -1, -2)


def ue_string_from_rows(rows: np.ndarray) -> str:
    """The UE string "[a b c d] [..] [..] [..]" of one (4, 4) row-vector matrix (full float precision)."""
    return " ".join("[" + " ".join(repr(float(v)) for v in row) + "]" for row in rows)


def rows_from_ue_string(path, text, where: str) -> np.ndarray:
    """(4, 4) from a UE string of four bracketed rows (3-entry rows get the homogeneous 0 / 1 appended)."""
    if not isinstance(text, str):
        raise fail(path, where, f"expected a string of four bracketed rows, got {type(text).__name__}")
    rows = _ROW.findall(text)
    if len(rows) != 4:
        raise fail(
            path,
            where,
            f"expected four bracketed rows '[r r r 0] [r r r 0] [r r r 0] [x y z 1]', got {len(rows)}",
        )
    out = np.zeros((4, 4))
    for i, row in enumerate(rows):
        try:
            values = [float(v) for v in row.replace(",", " ").split()]
        except ValueError:
            raise fail(path, where, f"row {i} {row!r} is not numbers") from None
        if len(values) == 3:
            values.append(1.0 if i == 3 else 0.0)
        if len(values) != 4:
            raise fail(path, where, f"row {i} has {len(values)} numbers, expected 3 or 4")
        out[i] = values
    if not np.isfinite(out).all():
        raise fail(path, where, "matrix has NaN or infinite values")
    rot = out[:3, :3]
    err = np.abs(rot @ rot.T - np.eye(3)).max()
    if err > ROTATION_TOL:
        raise fail(
            path, where, f"rotation rows are not orthonormal (max |R Rᵀ - I| = {err:.2e} > {ROTATION_TOL:g})"
        )
    if np.linalg.det(rot) < 0:
        raise fail(
            path, where, "rotation is a reflection (det < 0); expected an Unreal transform with det +1"
        )
    out[:3, :3] = orthonormalize(rot)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Files


def looks_like(data) -> bool:
    """True when parsed JSON `data` is a UE camera file (frames of camera strings, or camera strings)."""
    if not isinstance(data, dict) or not data:
        return False
    first = next(iter(data.values()))
    if isinstance(first, dict):
        return (
            any(_FRAME_KEY.match(k) for k in data)
            and bool(first)
            and isinstance(next(iter(first.values())), str)
        )
    return isinstance(first, str) and len(_ROW.findall(first)) == 4


def read_ue_rig(
    path, *, scale: float = DEFAULT_UE_SCALE, relative: bool = True, width=None, height=None, fps=None
) -> dict[str, CameraPath]:
    """All cameras of a UE JSON, by name in sorted order.

    With `relative` (the default: UE worlds are arbitrary) every camera is expressed in the frame of the first
    camera's first frame, so the first camera starts at the identity and the rig keeps its shape. No
    intrinsics are stored: 60 degrees horizontal fov at `width` x `height` (default 832x480), `fps` default 16.
    """
    path = Path(path)
    rows = _rows_by_camera(path, load_json(path))
    w, h = resolve_size(width, height)
    fps = DEFAULT_FPS if fps is None else fps
    mats = {name: opencv_from_ue(m, scale) for name, m in rows.items()}
    if relative:
        first_from_world = invert_rigid(next(iter(mats.values()))[0])
        mats = {name: first_from_world @ m for name, m in mats.items()}
    intr = fallback_intrinsics(w, h)
    return {
        name: make_camera_path(
            path,
            m,
            intr,
            w,
            h,
            fps,
            {"format": "ue", "file": path.name, "camera": name, "ue_scale": scale},
            frame_label=lambda i, name=name: f"frame{i}.{name}",
        )
        for name, m in mats.items()
    }


def read_ue_camera(path, camera: str | None = None, **kwargs) -> CameraPath:
    """One camera of a UE JSON (`camera` "5", "05" or "cam05"; optional when the file has one camera),
    relative to its own first frame unless `relative=False`."""
    path = Path(path)
    relative = kwargs.pop("relative", True)
    rig = read_ue_rig(path, relative=False, **kwargs)
    name = pick_camera(path, list(rig), camera)
    cam = rig[name]
    if relative:
        cam.world_from_camera = invert_rigid(cam.world_from_camera[0]) @ cam.world_from_camera
    return cam


def write_ue(path, rig: dict[str, CameraPath], *, scale: float = DEFAULT_UE_SCALE) -> None:
    """Write cameras (name -> path, all with the same frame count) as a ReCamMaster-style UE JSON."""
    path = Path(path)
    counts = {len(cam) for cam in rig.values()}
    if len(counts) != 1:
        raise fail(path, "", f"every camera of a UE file needs the same frame count, got {sorted(counts)}")
    rows = {name: ue_from_opencv(cam.world_from_camera, scale) for name, cam in rig.items()}
    data = {
        f"frame{i}": {name: ue_string_from_rows(m[i]) for name, m in rows.items()}
        for i in range(counts.pop())
    }
    dump_json(path, data)


def pick_camera(path, names: list[str], camera: str | None) -> str:
    """The name among `names` that `camera` means ("5", "05", "cam05", or an exact name)."""
    if camera is None:
        if len(names) == 1:
            return names[0]
        raise fail(path, "", f"holds {len(names)} cameras; choose one with --camera: {', '.join(names)}")
    if camera in names:
        return camera
    wanted = camera.strip().lower().removeprefix("cam")
    if wanted.isdigit():
        for name in names:
            match = re.fullmatch(r"cam(\d+)", name.lower())
            if match and int(match.group(1)) == int(wanted):
                return name
    raise fail(path, "", f"no camera {camera!r}; cameras are: {', '.join(names)}")


def _rows_by_camera(path: Path, data) -> dict[str, np.ndarray]:
    """name -> (T, 4, 4) UE row matrices, names sorted, frames in frame-number order."""
    if not looks_like(data):
        raise fail(
            path, "", "expected a UE camera JSON: {'frame0': {'cam01': '[r r r 0] ... [x y z 1]', ...}, ...}"
        )
    first = next(iter(data.values()))
    if isinstance(first, str):  # Hemi36: one frame per camera
        return {name: rows_from_ue_string(path, data[name], name)[None] for name in sorted(data)}
    frames = {}
    for key, value in data.items():
        match = _FRAME_KEY.match(key)
        if not match:
            raise fail(path, key, "unexpected key; expected 'frame0', 'frame1', ...")
        if not isinstance(value, dict):
            raise fail(path, key, f"expected an object of camera strings, got {type(value).__name__}")
        frames[int(match.group(1))] = value
    order = sorted(frames)
    if order != list(range(len(order))):
        missing = sorted(set(range(order[-1] + 1)) - set(order))
        raise fail(path, "", f"frame numbers must run from frame0 without gaps; missing frame{missing[0]}")
    names = sorted(frames[0])
    out = {}
    for name in names:
        mats = []
        for k in order:
            if name not in frames[k]:
                raise fail(path, f"frame{k}", f"missing camera {name!r}")
            mats.append(rows_from_ue_string(path, frames[k][name], f"frame{k}.{name}"))
        out[name] = np.stack(mats)
    return out
