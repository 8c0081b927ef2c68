"""The `file` depth backend: the user's own depth map (.npy, .npz or 16-bit PNG), as depth or disparity.

Reading is safe: `np.load(allow_pickle=False)` only. Size policy: the map must have the image's size, or the
same aspect ratio (within 1% or one pixel of rounding), in which case it is resized (valid-aware) with a note;
any other size is an error naming both sizes. NaN, infinite and negative values become invalid (0) with a note;
a map with no valid pixel is an error. Disparity is inverted (depth = 1 / disparity, disparity 0 = invalid).
The map's units are unknown to shotsmith, so the result is "relative"; `cache.json` keeps the factor back to the
file's units in `scale_to_backend_units`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotsmith.backends.depth.base import DepthBackend, DepthFileKind, DepthResult, register
from shotsmith.errors import InputError, check_input_file, check_numpy_file
from shotsmith.geometry import resize_depth, sanitize_depth

#: Largest aspect-ratio mismatch (relative) still treated as "the same aspect" and resized.
ASPECT_TOLERANCE = 0.01


def read_depth_file(path: str | Path) -> np.ndarray:
    """(H, W) float32 raw values of a .npy / .npz / 16-bit PNG depth file. Raises InputError naming the file."""
    path = check_input_file(path, "depth", "a .npy, .npz or 16-bit .png depth file", where="the --depth path")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        check_numpy_file(path)
        try:
            data = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InputError(
                f"{path}: cannot read ({exc}); save a plain float array with numpy.save"
            ) from exc
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable numpy file ({exc})") from exc
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                keys = list(data.keys())
                if not keys:
                    raise InputError(
                        f"{path}: the .npz holds no array; store the depth under the key 'depth'"
                    )
                key = "depth" if "depth" in keys else keys[0]
                try:
                    arr = data[key]
                except ValueError as exc:
                    raise InputError(f"{path}: cannot read array {key!r} ({exc})") from exc
        else:
            arr = data
    elif suffix == ".png":
        arr = _read_png16(path)
    else:
        raise InputError(f"{path}: unsupported depth file type {suffix!r}; give .npy, .npz or a 16-bit .png")
    arr = np.asarray(arr)
    if arr.ndim == 3 and 1 in (arr.shape[0], arr.shape[-1]):
        arr = arr.reshape(arr.shape[1:] if arr.shape[0] == 1 else arr.shape[:2])
    if arr.ndim != 2:
        raise InputError(f"{path}: expected a 2-D depth map (H, W), got an array of shape {arr.shape}")
    if arr.dtype.kind not in "fiu" and arr.dtype != bool:
        raise InputError(f"{path}: expected numbers, got an array of dtype {arr.dtype}")
    return arr.astype(np.float32)


def _read_png16(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: not a readable PNG ({exc})") from exc
    raise InputError(
        f"{path}: PNG mode {mode} is not a 16-bit single-channel depth map; save depth as a 16-bit grey PNG "
        "or as .npy (8-bit PNGs are too coarse for depth)"
    )


def fit_to_image(
    values: np.ndarray, width: int, height: int, name: str = "depth"
) -> tuple[np.ndarray, list[str]]:
    """The map at `width` x `height`: unchanged when the size matches, resized when only the scale differs,
    an InputError naming both sizes otherwise."""
    h, w = values.shape
    if (w, h) == (width, height):
        return values, []
    aspect_err = abs((w / h) / (width / height) - 1.0)
    rounding_ok = abs(round(w * height / h) - width) <= 1 or abs(round(h * width / w) - height) <= 1
    if aspect_err > ASPECT_TOLERANCE and not rounding_ok:
        raise InputError(
            f"{name}: depth map is {w}x{h} but the image is {width}x{height} (aspect {w / h:.3f} vs "
            f"{width / height:.3f}); give a depth map of the image's size or aspect ratio"
        )
    return resize_depth(values, width, height), [
        f"{name}: resized the depth map from {w}x{h} to {width}x{height}"
    ]


@register("file")
class FileDepth(DepthBackend):
    """Depth (or disparity) from a user's file."""

    name = "file"

    def __init__(self, path: str | Path, kind: DepthFileKind = "depth") -> None:
        if kind not in ("depth", "disparity"):
            raise InputError(f"--depth-kind must be 'depth' or 'disparity', got {kind!r}")
        self.path = Path(path)
        self.kind = kind
        self.model = str(path)

    def version(self) -> str:
        return f"file ({self.kind})"

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        height, width = rgb.shape[:2]
        raw = read_depth_file(self.path)
        notes: list[str] = []
        raw, bad = sanitize_depth(raw)
        if bad:
            notes.append(f"{self.path.name}: {bad} NaN, infinite or negative value(s) treated as invalid")
        if not (raw > 0).any():
            raise InputError(
                f"{self.path}: no valid {self.kind} value (all are 0, negative, NaN or infinite); check the file"
            )
        if self.kind == "disparity":
            with np.errstate(divide="ignore"):
                raw = np.where(raw > 0, 1.0 / np.maximum(raw, 1e-30), 0.0).astype(np.float32)
        depth, resize_notes = fit_to_image(raw, width, height, name=str(self.path))
        return DepthResult(
            depth=depth, kind="relative", intrinsics=None, mask=depth > 0, notes=notes + resize_notes
        )
