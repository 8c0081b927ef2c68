"""GEN3C `camera.npz` (the "distributed format") and ViPE pose npz files.

GEN3C: keys `w2c` (T, 4, 4) world-to-camera and `intrinsics` (T, 3, 3) K in pixels, OpenCV camera axes; no image
size (GEN3C renders 1280x704). We also write `width`, `height`, `fps` scalars, which GEN3C ignores. ViPE:
`pose/<name>.npz` with `inds` (T,) and `data` (T, 4, 4) or (T, 16) **camera-to-world**; a sibling
`intrinsics/<name>.npz` (`data` (T, 3, 3) or (T, 4) fx, fy, cx, cy) is used when present. Files are loaded with
`allow_pickle=False` only. This module owns both layouts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, intrinsics_from_matrix, invert_rigid
from shotsmith.errors import check_numpy_file
from shotsmith.formats._io import (
    DEFAULT_FPS,
    check_exists,
    fail,
    fallback_intrinsics,
    make_camera_path,
    pose_from_3x4,
    resolve_size,
)


def npz_keys(path: Path) -> set[str] | None:
    """The array names of an npz file (without loading it), or None when it is not a zip."""
    try:
        with zipfile.ZipFile(path) as z:
            return {n.removesuffix(".npy") for n in z.namelist()}
    except (zipfile.BadZipFile, OSError):
        return None


def looks_like(keys: set[str] | None) -> bool:
    return keys is not None and ({"w2c", "intrinsics"} <= keys or {"inds", "data"} <= keys)


def read_gen3c(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a GEN3C camera.npz or a ViPE pose npz as a `CameraPath` (absolute poses, as stored).

    Image size: the caller's, else the file's `width`/`height`, else twice the first principal point.
    """
    path = Path(path)
    arrays = _load(path)
    if "w2c" in arrays:
        return _from_gen3c(path, arrays, width, height, fps)
    if {"inds", "data"} <= arrays.keys():
        return _from_vipe(path, arrays, width, height, fps)
    raise fail(
        path,
        "",
        f"expected keys 'w2c' and 'intrinsics' (GEN3C) or 'inds' and 'data' (ViPE), got {sorted(arrays)}",
    )


def write_gen3c(path, cam: CameraPath) -> None:
    """Write `cam` as a GEN3C camera.npz (`w2c`, `intrinsics` in pixels, plus `width`, `height`, `fps`)."""
    with open(path, "wb") as f:
        np.savez(
            f,
            w2c=cam.camera_from_world,
            intrinsics=cam.K,
            width=np.int64(cam.width),
            height=np.int64(cam.height),
            fps=np.float64(cam.fps),
        )


# ---------------------------------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, np.ndarray]:
    check_exists(path)
    check_numpy_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise fail(path, "", "expected an .npz archive, got a single .npy array")
            return {k: npz[k] for k in npz.files}
    except ValueError as exc:  # pickled object arrays, corrupt headers
        raise fail(path, "", f"cannot load without pickle ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise fail(path, "", f"not a readable .npz file ({exc})") from None


def _array(path: Path, arrays: dict, key: str, shapes: tuple) -> np.ndarray:
    if key not in arrays:
        raise fail(path, "", f"missing array {key!r}")
    arr = arrays[key]
    if arr.dtype.kind not in "fiu":
        raise fail(path, key, f"expected numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim == 4 and arr.shape[0] == 1:  # [1, T, ...] batches as GEN3C keeps them in memory
        arr = arr[0]
    if not any(arr.ndim == len(s) + 1 and arr.shape[1:] == s for s in shapes):
        want = " or ".join("(T, " + ", ".join(map(str, s)) + ")" for s in shapes)
        raise fail(path, key, f"expected shape {want}, got {arr.shape}")
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        raise fail(path, f"{key}[{int(np.argmax(bad))}]", "NaN or infinite values")
    return arr


def _scalar(path: Path, arrays: dict, key: str):
    if key not in arrays:
        return None
    arr = arrays[key]
    if arr.shape != () or arr.dtype.kind not in "fiu" or not np.isfinite(arr) or arr <= 0:
        raise fail(path, key, f"expected one positive number, got {arr!r}")
    return arr.item()


def _from_gen3c(path: Path, arrays: dict, width, height, fps) -> CameraPath:
    w2c = pose_from_3x4(_array(path, arrays, "w2c", ((4, 4), (3, 4))))
    k = _array(path, arrays, "intrinsics", ((3, 3), (4,)))
    intr = intrinsics_from_matrix(k) if k.ndim == 3 else k
    if len(intr) == 1:
        intr = np.repeat(intr, len(w2c), axis=0)
    if len(intr) != len(w2c):
        raise fail(path, "intrinsics", f"has {len(intr)} frames but w2c has {len(w2c)}")
    file_size = (
        _scalar(path, arrays, "width") or round(2 * intr[0, 2]),
        _scalar(path, arrays, "height") or round(2 * intr[0, 3]),
    )
    w, h = resolve_size(width, height, file_size)
    fps = fps if fps is not None else (_scalar(path, arrays, "fps") or DEFAULT_FPS)
    meta = {"format": "gen3c", "file": path.name}
    return make_camera_path(path, invert_rigid(w2c), intr, w, h, fps, meta, frame_label=lambda i: f"w2c[{i}]")


def _from_vipe(path: Path, arrays: dict, width, height, fps) -> CameraPath:
    data = _array(path, arrays, "data", ((4, 4), (3, 4), (16,)))
    c2w = pose_from_3x4(data.reshape(len(data), 4, 4) if data.ndim == 2 else data)
    sibling = path.parent.parent / "intrinsics" / path.name
    if path.parent.name == "pose" and sibling.is_file():
        k = _array(sibling, _load(sibling), "data", ((3, 3), (4,)))
        intr = intrinsics_from_matrix(k) if k.ndim == 3 else k
        if len(intr) not in (1, len(c2w)):
            raise fail(sibling, "data", f"has {len(intr)} frames but the pose file has {len(c2w)}")
        w, h = resolve_size(width, height, (round(2 * intr[0, 2]), round(2 * intr[0, 3])))
        intr = np.broadcast_to(intr, (len(c2w), 4)).copy()
    else:
        w, h = resolve_size(width, height)
        intr = fallback_intrinsics(w, h)
    meta = {"format": "vipe", "file": path.name}
    return make_camera_path(
        path, c2w, intr, w, h, DEFAULT_FPS if fps is None else fps, meta, frame_label=lambda i: f"data[{i}]"
    )
