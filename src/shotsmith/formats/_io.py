"""Shared plumbing of the format adapters: defaults, FormatError helpers, JSON and number parsing.

Owns how a bad file is reported (always a `FormatError` naming the file, the key or line and what was expected)
and the defaults used when a file does not say its image size or frame rate. Knows no format.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, default_intrinsics
from shotsmith.errors import CameraError, FormatError

#: Frame rate assumed when neither the file nor the caller gives one (shotsmith's default output rate).
DEFAULT_FPS = 16.0
#: Image size (width, height) assumed when neither the file nor the caller gives one (Wan / ReCamMaster size).
DEFAULT_SIZE = (832, 480)


def fail(path, where: str, what: str) -> FormatError:
    """A `FormatError` "PATH: WHERE: WHAT" (`where` may be empty)."""
    prefix = f"{path}: {where}: " if where else f"{path}: "
    return FormatError(prefix + what)


def check_exists(path: Path) -> None:
    if not path.exists():
        raise fail(path, "", "no such file or folder")


def load_json(path: Path):
    """The parsed JSON of `path`, or a `FormatError` naming the line and column of a syntax error."""
    check_exists(path)
    if path.is_dir():
        raise fail(path, "", "is a folder, expected a JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, "", f"cannot read as UTF-8 text ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(path, f"line {exc.lineno} column {exc.colno}", f"invalid JSON ({exc.msg})") from None


def dump_json(path: Path, data) -> None:
    """Write `data` as indented JSON (numpy scalars and arrays become plain numbers and lists)."""

    def default(obj):
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"cannot write {type(obj).__name__} to JSON")

    Path(path).write_text(json.dumps(data, indent=2, default=default) + "\n", encoding="utf-8")


def get_key(path, obj, key: str, where: str = ""):
    """`obj[key]`, or a `FormatError` saying the key is missing."""
    if not isinstance(obj, dict):
        raise fail(path, where, f"expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        loc = f"{where}: " if where else ""
        raise fail(path, "", f"{loc}missing key {key!r}")
    return obj[key]


def as_number(path, value, where: str, *, positive: bool = False) -> float:
    """`value` as a finite float, or a `FormatError`."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise fail(path, where, f"expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise fail(path, where, f"expected a finite number, got {value!r}")
    if positive and x <= 0:
        raise fail(path, where, f"expected a positive number, got {value!r}")
    return x


def as_matrix(path, value, where: str, shapes=((4, 4),)) -> np.ndarray:
    """`value` (nested lists or a flat list) as a float64 array of one of `shapes`, finite, or a `FormatError`."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(path, where, f"expected a matrix of numbers with shape {_shapes(shapes)}") from None
    if arr.shape not in shapes:
        raise fail(path, where, f"expected a matrix of shape {_shapes(shapes)}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise fail(path, where, "matrix has NaN or infinite values")
    return arr


def _shapes(shapes) -> str:
    return " or ".join(str(s) for s in shapes)


def pose_from_3x4(m: np.ndarray) -> np.ndarray:
    """(..., 4, 4) from (..., 3, 4) or (..., 4, 4) matrices (bottom row [0, 0, 0, 1] appended)."""
    if m.shape[-2:] == (4, 4):
        return m
    out = np.zeros((*m.shape[:-2], 4, 4))
    out[..., :3, :] = m
    out[..., 3, 3] = 1.0
    return out


def make_camera_path(
    path, world_from_camera, intrinsics, width, height, fps, meta, frame_label=None
) -> CameraPath:
    """A validated `CameraPath`; a contract violation becomes a `FormatError` prefixed with the file name.

    `frame_label(i)` turns a frame index into the file's own location ("line 5", "frames[3]").
    """
    try:
        return CameraPath(world_from_camera, intrinsics, width, height, fps, meta)
    except CameraError as exc:
        msg = str(exc)
        if msg.startswith("frame 0:") and len(world_from_camera) > 1:
            # shotsmith re-expresses an imported path relative to its first camera (formats.imported.anchor)
            msg = msg.replace("frame 0:", "frame 0, the first camera, which anchors the path:", 1)
        if frame_label is not None and msg.startswith("frame "):
            head, _, rest = msg.partition(":")
            try:
                msg = f"{frame_label(int(head.split()[1].rstrip(',')))} ({head}):{rest}"
            except ValueError:
                pass
        raise FormatError(f"{path}: {msg}") from None


def resolve_size(width, height, file_size=None) -> tuple[int, int]:
    """Image size: the caller's, else the file's, else `DEFAULT_SIZE`."""
    fw, fh = file_size if file_size is not None else (None, None)
    w = width if width is not None else (fw if fw is not None else DEFAULT_SIZE[0])
    h = height if height is not None else (fh if fh is not None else DEFAULT_SIZE[1])
    return int(w), int(h)


def fallback_intrinsics(width: int, height: int) -> np.ndarray:
    """(4,) intrinsics for files that store none: 60 degrees horizontal fov, centred principal point."""
    return default_intrinsics(width, height)
