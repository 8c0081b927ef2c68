"""RealEstate10K / CameraCtrl / CamI2V camera text files.

Layout: line 1 is the clip's URL; every other line is 19 numbers: timestamp (microseconds), fx, fy, cx, cy
(fx, cx as fractions of the image width, fy, cy of the height), k1, k2 (always 0), then the world-to-camera 3x4
row-major, OpenCV camera axes. This module owns that layout: intrinsics are de-normalised with the image size
(the caller's, else 832x480), the frame rate comes from evenly increasing timestamps, else the caller's, else 16.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid, orthonormalize
from shotsmith.formats._io import DEFAULT_FPS, check_exists, fail, make_camera_path, resolve_size

NUMBERS_PER_LINE = 19
#: First line written when the path has no `url` in its meta (readers skip line 1 whatever it says).
DEFAULT_URL = "https://github.com/shotsmith/shotsmith"
#: Text files print few digits: rotations this close to orthonormal are re-projected (SVD), others refused.
ORTHO_TOL = 1e-3


def looks_like(text: str) -> bool:
    """True when `text` (the file's start) has a line of 19 numbers within its first two lines, or a URL line
    followed by a line of numbers (a damaged file that the reader then reports by line)."""
    lines = [ln for ln in text.splitlines()[:2] if ln.strip()]
    numeric = [_numbers(ln) for ln in lines]
    if any(v is not None and len(v) == NUMBERS_PER_LINE for v in numeric):
        return True
    return len(lines) == 2 and lines[0].strip().startswith(("http://", "https://")) and numeric[1] is not None


def read_re10k(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a RealEstate10K-style text file as a `CameraPath` (absolute poses, as stored)."""
    path = Path(path)
    check_exists(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, "", f"cannot read as UTF-8 text ({exc})") from None
    url = ""
    rows, line_numbers = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        values = _numbers(line)
        if values is None and number == 1:
            url = line.strip()
            continue
        if values is None or len(values) != NUMBERS_PER_LINE:
            got = "text" if values is None else f"{len(values)} numbers"
            raise fail(
                path,
                f"line {number}",
                f"expected {NUMBERS_PER_LINE} numbers "
                "(timestamp fx fy cx cy 0 0 and a 3x4 world-to-camera), got " + got,
            )
        if not np.isfinite(values).all():
            raise fail(path, f"line {number}", "NaN or infinite value")
        rows.append(values)
        line_numbers.append(number)
    if not rows:
        raise fail(path, "", "no camera lines; expected a URL line then lines of 19 numbers")
    data = np.array(rows)
    w, h = resolve_size(width, height)
    camera_from_world = np.zeros((len(data), 4, 4))
    camera_from_world[:, :3, :] = data[:, 7:].reshape(-1, 3, 4)
    camera_from_world[:, 3, 3] = 1.0
    for i, rot in enumerate(camera_from_world[:, :3, :3]):
        where = f"line {line_numbers[i]}"
        err = np.abs(rot @ rot.T - np.eye(3)).max()
        if err > ORTHO_TOL:
            raise fail(path, where, f"rotation is not orthonormal (max |R Rᵀ - I| = {err:.2e})")
        if np.linalg.det(rot) < 0:
            raise fail(
                path,
                where,
                "rotation is a reflection (det < 0, e.g. r00 = -1 in CamI2V's pan up/down "
                "files); expected a proper world-to-camera rotation",
            )
    camera_from_world[:, :3, :3] = orthonormalize(camera_from_world[:, :3, :3])
    intr = data[:, 1:5] * np.array([w, h, w, h])
    if fps is None:
        fps = _fps_from_timestamps(data[:, 0])
    meta = {"format": "re10k", "file": path.name}
    if url:
        meta["url"] = url
    return make_camera_path(
        path,
        invert_rigid(camera_from_world),
        intr,
        w,
        h,
        fps,
        meta,
        frame_label=lambda i: f"line {line_numbers[i]}",
    )


def write_re10k(path, cam: CameraPath) -> None:
    """Write `cam` as RealEstate10K text (timestamps k / fps in microseconds, normalised intrinsics)."""
    size = np.array([cam.width, cam.height, cam.width, cam.height], dtype=np.float64)
    w2c = cam.camera_from_world[:, :3, :].reshape(len(cam), 12)
    lines = [str(cam.meta.get("url") or DEFAULT_URL)]
    for i in range(len(cam)):
        stamp = round(i * 1e6 / cam.fps)
        values = [*(cam.intrinsics[i] / size), 0.0, 0.0, *w2c[i]]
        lines.append(" ".join([str(stamp)] + [repr(float(v)) for v in values]))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _numbers(line: str) -> np.ndarray | None:
    try:
        return np.array([float(v) for v in line.split()])
    except ValueError:
        return None


def _fps_from_timestamps(stamps: np.ndarray) -> float:
    """1e6 / step when timestamps increase evenly (within 1%), else `DEFAULT_FPS` (CamI2V repeats 114514)."""
    if len(stamps) >= 2:
        steps = np.diff(stamps)
        if (steps > 0).all() and np.ptp(steps) <= 0.01 * steps.mean():
            return float(1e6 / steps.mean())
    return DEFAULT_FPS
