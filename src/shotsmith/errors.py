"""The error hierarchy: every user-facing failure is a `ShotsmithError`.

The CLI catches `ShotsmithError`, prints its message as one red line and exits 1. Library code raises; it never
calls `sys.exit`. Messages name the file, the offending value and the fix.
"""

from __future__ import annotations

from pathlib import Path


class ShotsmithError(Exception):
    """Base class of every error a user can cause or fix (bad input, missing artifact, unavailable backend)."""


class CameraError(ShotsmithError, ValueError):
    """A camera path that breaks the contract of docs/CONVENTIONS.md (NaN, improper rotation, bad focal...)."""


class FormatError(ShotsmithError, ValueError):
    """A camera or artifact file that cannot be read: names the file, the key or line, and what was expected."""


class PresetError(ShotsmithError, ValueError):
    """An unknown or malformed camera preset."""


class PlanError(ShotsmithError, ValueError):
    """A text that cannot be planned into a camera path."""


class InputError(ShotsmithError, ValueError):
    """A bad user input: missing or unreadable image, impossible size, bad option value."""


class WorkspaceError(ShotsmithError):
    """A workspace problem: missing artifact, locked by another process, output folder is a file."""


class BackendUnavailable(ShotsmithError):
    """A backend that cannot run here: says what is missing and how to get it."""


def check_shape(name: str, array, shape: tuple) -> None:
    """Raise `ShotsmithError` unless `array.shape` matches `shape` (None = any size on that axis)."""
    actual = tuple(getattr(array, "shape", ()))
    if len(actual) != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, actual, strict=False)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ShotsmithError(f"{name}: expected an array of shape {want}, got {actual}")


def check_input_file(path: str | Path, kind: str, expected: str, where: str = "the path") -> Path:
    """`path` as a Path when it names a non-empty file, else an InputError naming it: "no such KIND file; check
    WHERE", "is a folder, expected EXPECTED" or "the file is empty (0 bytes); give a real KIND file"."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {kind} file; check {where}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected {expected}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); give a real {kind} file")
    return path


#: Largest array a user's .npy / .npz may hold before anything is allocated (bytes, uncompressed).
MAX_ARRAY_BYTES = 4 * 1024**3


def check_numpy_file(path: Path, limit: int = MAX_ARRAY_BYTES) -> None:
    """InputError before loading when a .npy header, or the members of an .npz, claim more than `limit` bytes
    uncompressed (a zip bomb, or a depth stack far larger than any shot), saying how much it would take."""
    import zipfile

    import numpy as np

    path = Path(path)
    sizes: list[int] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                sizes = [info.file_size for info in zf.infolist()]
        else:
            with open(path, "rb") as f:
                major, _minor = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, _order, dtype = read(f)
                sizes = [int(np.prod(shape, dtype=np.float64) * dtype.itemsize)]
    except (OSError, ValueError, EOFError, SyntaxError, zipfile.BadZipFile):
        return  # not a numpy file numpy can read: the loader says so in its own words
    total = sum(sizes)
    if total > limit:
        raise InputError(
            f"{path}: holds {total / 1e9:.1f} GB of arrays uncompressed; shotsmith reads numpy files up to "
            f"{limit / 1e9:.1f} GB: give depth maps at the shot's size"
        )
