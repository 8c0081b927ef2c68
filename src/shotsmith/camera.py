"""The camera-path type and its pure operations. Conventions: docs/CONVENTIONS.md.

`CameraPath` is the only camera representation in memory: `world_from_camera` (N, 4, 4) float64 with OpenCV
camera axes (x right, y down, z forward), per-frame pinhole intrinsics in pixels (N, 4) = (fx, fy, cx, cy) with
pixel centres at integer + 0.5, the image size and the fps. The world is the source view's camera unless a file
says otherwise; units are scene units (1.0 = subject distance). This module knows nothing of files: conversions
to other conventions live in `shotsmith.formats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from shotsmith.errors import CameraError

#: Horizontal field of view used when neither the user, EXIF nor a depth model gives one (degrees).
DEFAULT_HFOV_DEG = 60.0
#: Tolerances of the validation at the boundary.
ORTHONORMAL_TOL = 1e-6

Easing = Literal["linear", "ease_in", "ease_out", "ease_in_out", "exponential"]
EASINGS: tuple[str, ...] = ("linear", "ease_in", "ease_out", "ease_in_out", "exponential")


@dataclass
class CameraPath:
    """A batched pinhole camera path (see docs/CONVENTIONS.md)."""

    world_from_camera: np.ndarray
    """(N, 4, 4) float64 camera-to-world matrices, OpenCV camera axes (x right, y down, z forward)."""
    intrinsics: np.ndarray
    """(N, 4) float64 (fx, fy, cx, cy) in pixels; pixel centres at integer + 0.5."""
    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""
    fps: float = 16.0
    """Frames per second."""
    meta: dict = field(default_factory=dict)
    """Where the path came from (preset name, text, source file); written to trajectory.json's `shotsmith`."""

    def __post_init__(self) -> None:
        self.world_from_camera = np.asarray(self.world_from_camera, dtype=np.float64)
        intr = np.asarray(self.intrinsics, dtype=np.float64)
        if intr.ndim == 1:
            intr = np.broadcast_to(intr, (len(self.world_from_camera), 4)).copy()
        self.intrinsics = intr
        self.width = int(self.width)
        self.height = int(self.height)
        self.fps = float(self.fps)
        validate(self)

    def __len__(self) -> int:
        return len(self.world_from_camera)

    @property
    def num_frames(self) -> int:
        return len(self)

    @property
    def centers(self) -> np.ndarray:
        """(N, 3) camera centres in world coordinates."""
        return self.world_from_camera[:, :3, 3].copy()

    @property
    def rotations(self) -> np.ndarray:
        """(N, 3, 3) world_from_camera rotations."""
        return self.world_from_camera[:, :3, :3].copy()

    @property
    def camera_from_world(self) -> np.ndarray:
        """(N, 4, 4) world-to-camera matrices."""
        return invert_rigid(self.world_from_camera)

    @property
    def K(self) -> np.ndarray:  # noqa: N802 - the standard name
        """(N, 3, 3) intrinsic matrices in pixels."""
        return intrinsics_matrix(self.intrinsics)

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame plus one frame."""
        return len(self) / self.fps

    def select(self, indices) -> CameraPath:
        """The frames at `indices` (a slice or integer array)."""
        return replace(
            self, world_from_camera=self.world_from_camera[indices], intrinsics=self.intrinsics[indices]
        )

    def with_size(self, width: int, height: int) -> CameraPath:
        """The same cameras for another image size: focal scaled by the width ratio, principal point scaled per
        axis (a resize; use `crop` semantics yourself for crops)."""
        sx, sy = width / self.width, height / self.height
        intr = self.intrinsics * np.array([sx, sy, sx, sy])
        return replace(self, intrinsics=intr, width=width, height=height)

    def copy(self) -> CameraPath:
        return replace(
            self,
            world_from_camera=self.world_from_camera.copy(),
            intrinsics=self.intrinsics.copy(),
            meta=dict(self.meta),
        )


def validate(path: CameraPath) -> None:
    """Raise `CameraError` naming the first offending frame unless `path` meets the contract."""
    m = path.world_from_camera
    if m.ndim != 3 or m.shape[1:] != (4, 4):
        raise CameraError(f"world_from_camera must have shape (N, 4, 4), got {m.shape}")
    if len(m) < 1:
        raise CameraError("a camera path needs at least one frame, got 0")
    intr = path.intrinsics
    if intr.shape != (len(m), 4):
        raise CameraError(
            f"intrinsics must have shape ({len(m)}, 4) = (fx, fy, cx, cy) per frame, got {intr.shape}"
        )
    if path.width <= 0 or path.height <= 0:
        raise CameraError(f"image size must be positive, got {path.width}x{path.height}")
    if not (math.isfinite(path.fps) and path.fps > 0):
        raise CameraError(f"fps must be a positive number, got {path.fps}")
    bad = ~np.isfinite(m).all(axis=(1, 2))
    if bad.any():
        raise CameraError(f"frame {int(np.argmax(bad))}: world_from_camera has NaN or infinite values")
    bad = ~np.isfinite(intr).all(axis=1)
    if bad.any():
        raise CameraError(f"frame {int(np.argmax(bad))}: intrinsics have NaN or infinite values")
    bottom = np.abs(m[:, 3, :] - np.array([0.0, 0.0, 0.0, 1.0])).max(axis=1)
    if (bottom > 1e-9).any():
        i = int(np.argmax(bottom > 1e-9))
        raise CameraError(
            f"frame {i}: last row of world_from_camera must be [0, 0, 0, 1], got {m[i, 3].tolist()}"
        )
    rot = m[:, :3, :3]
    ortho = np.abs(np.einsum("nji,njk->nik", rot, rot) - np.eye(3)).max(axis=(1, 2))
    if (ortho > ORTHONORMAL_TOL).any():
        i = int(np.argmax(ortho > ORTHONORMAL_TOL))
        raise CameraError(
            f"frame {i}: rotation is not orthonormal (max |R^T R - I| = {ortho[i]:.2e} > {ORTHONORMAL_TOL:g}); "
            "fix the file or re-orthonormalise it"
        )
    det = np.linalg.det(rot)
    if (det < 0).any():
        i = int(np.argmax(det < 0))
        raise CameraError(
            f"frame {i}: rotation is a reflection (det = {det[i]:.3f}); a proper rotation has det +1 "
            "(mixed-handed axes? convert through `shotsmith convert`)"
        )
    if (intr[:, :2] <= 0).any():
        i = int(np.argmax((intr[:, :2] <= 0).any(axis=1)))
        raise CameraError(f"frame {i}: focal lengths must be positive, got fx={intr[i, 0]}, fy={intr[i, 1]}")


# ---------------------------------------------------------------------------------------------------------------
# Small matrix helpers


def invert_rigid(world_from_camera: np.ndarray) -> np.ndarray:
    """Invert (..., 4, 4) rigid transforms exactly (R^T, -R^T t)."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    out = np.zeros_like(m)
    rt = np.swapaxes(m[..., :3, :3], -1, -2)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rt, m[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def make_pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(..., 4, 4) from (..., 3, 3) rotations and (..., 3) translations."""
    rotation = np.asarray(rotation, dtype=np.float64)
    translation = np.asarray(translation, dtype=np.float64)
    shape = np.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1])
    out = np.zeros((*shape, 4, 4))
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def intrinsics_matrix(intrinsics: np.ndarray) -> np.ndarray:
    """(..., 3, 3) K from (..., 4) (fx, fy, cx, cy)."""
    intr = np.asarray(intrinsics, dtype=np.float64)
    k = np.zeros((*intr.shape[:-1], 3, 3))
    k[..., 0, 0] = intr[..., 0]
    k[..., 1, 1] = intr[..., 1]
    k[..., 0, 2] = intr[..., 2]
    k[..., 1, 2] = intr[..., 3]
    k[..., 2, 2] = 1.0
    return k


def intrinsics_from_matrix(k: np.ndarray) -> np.ndarray:
    """(..., 4) (fx, fy, cx, cy) from (..., 3, 3) K."""
    k = np.asarray(k, dtype=np.float64)
    return np.stack([k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]], axis=-1)


def orthonormalize(rotation: np.ndarray) -> np.ndarray:
    """The nearest proper rotation(s) to (..., 3, 3) matrices (SVD projection)."""
    u, _, vt = np.linalg.svd(np.asarray(rotation, dtype=np.float64))
    r = u @ vt
    flip = np.linalg.det(r) < 0
    if np.any(flip):
        u = u.copy()
        u[flip, :, -1] *= -1
        r = u @ vt
    return r


# ---------------------------------------------------------------------------------------------------------------
# Field of view and default intrinsics


def focal_from_fov(fov_deg: float, size_px: float) -> float:
    """Focal length in pixels for a field of view (degrees) spanning `size_px` pixels."""
    if not 0.0 < fov_deg < 180.0:
        raise CameraError(f"field of view must be between 0 and 180 degrees, got {fov_deg}")
    return 0.5 * size_px / math.tan(math.radians(fov_deg) / 2.0)


def fov_from_focal(focal_px: float, size_px: float) -> float:
    """Field of view (degrees) spanning `size_px` pixels for a focal length in pixels."""
    if focal_px <= 0:
        raise CameraError(f"focal length must be positive, got {focal_px}")
    return math.degrees(2.0 * math.atan(0.5 * size_px / focal_px))


def default_intrinsics(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> np.ndarray:
    """(4,) square-pixel intrinsics with the principal point at the image centre."""
    f = focal_from_fov(hfov_deg, width)
    return np.array([f, f, width / 2.0, height / 2.0])


def static_path(
    num_frames: int, width: int, height: int, fps: float = 16.0, intrinsics: np.ndarray | None = None
) -> CameraPath:
    """A camera that stays at the world origin (the source view) for `num_frames` frames."""
    if num_frames < 1:
        raise CameraError(f"frame count must be at least 1, got {num_frames}")
    intr = default_intrinsics(width, height) if intrinsics is None else np.asarray(intrinsics, float)
    return CameraPath(np.tile(np.eye(4), (num_frames, 1, 1)), intr, width, height, fps)


# ---------------------------------------------------------------------------------------------------------------
# Look-at


def look_at(eye, target, up=(0.0, -1.0, 0.0)) -> np.ndarray:
    """world_from_camera (4, 4), OpenCV axes, for a camera at `eye` looking at `target`.

    `up` is the world direction that should appear up in the image; with the source camera as the world,
    up is -y (OpenCV y points down).
    """
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise CameraError(f"look_at: eye {eye.tolist()} and target coincide")
    z = forward / norm
    down = -np.asarray(up, dtype=np.float64)
    x = np.cross(down, z)
    if np.linalg.norm(x) < 1e-9:
        raise CameraError(f"look_at: viewing direction {z.tolist()} is parallel to up {list(up)}")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(np.stack([x, y, z], axis=1), eye)


# ---------------------------------------------------------------------------------------------------------------
# Time easing


def ease(t, kind: str = "linear", a: float | None = None) -> np.ndarray:
    """Map normalised time t in [0, 1] to progress in [0, 1].

    linear; ease_in (quadratic start), ease_out (quadratic end), ease_in_out (smoothstep 3t^2 - 2t^3);
    exponential: MultiCamVideo's curve (1 - exp(-a t)) / (1 - exp(-a)), a > 0 starts fast and ends slow,
    a < 0 starts slow and ends fast (default a = 3).
    """
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if kind == "linear":
        return t
    if kind == "ease_in":
        return t * t
    if kind == "ease_out":
        return 1.0 - (1.0 - t) ** 2
    if kind == "ease_in_out":
        return t * t * (3.0 - 2.0 * t)
    if kind == "exponential":
        a = 3.0 if a is None else float(a)
        if abs(a) < 1e-9:
            return t
        return (1.0 - np.exp(-a * t)) / (1.0 - math.exp(-a))
    raise CameraError(f"unknown easing {kind!r}; choose one of {', '.join(EASINGS)}")


# ---------------------------------------------------------------------------------------------------------------
# Path operations


def relative_to_first(path: CameraPath) -> CameraPath:
    """The path expressed in its first camera's frame (frame 0 becomes the identity)."""
    first_from_world = invert_rigid(path.world_from_camera[0])
    return replace(path, world_from_camera=first_from_world @ path.world_from_camera)


def scale_translations(path: CameraPath, factor: float) -> CameraPath:
    """The path with every camera centre multiplied by `factor` (a change of length units about the world
    origin); rotations and intrinsics unchanged."""
    if not (math.isfinite(factor) and factor > 0):
        raise CameraError(f"a change of units needs a positive finite factor, got {factor}")
    mats = path.world_from_camera.copy()
    mats[:, :3, 3] *= factor
    return replace(path, world_from_camera=mats)


def rebase_intrinsics(intrinsics: np.ndarray, first) -> np.ndarray:
    """(N, 4) intrinsics whose frame 0 is `first` (4,), later frames keeping their zoom (focal ratio to frame 0)
    and principal-point shift (in frame 0's focal lengths) relative to frame 0."""
    intr = np.asarray(intrinsics, dtype=np.float64)
    first = np.asarray(first, dtype=np.float64)
    zoom = intr[:, :2] / intr[0, :2]
    shift = (intr[:, 2:] - intr[0, 2:]) / intr[0, :2]
    return np.concatenate([first[:2] * zoom, first[2:] + shift * first[:2]], axis=1)


def concatenate(paths: list[CameraPath], chain: bool = True) -> CameraPath:
    """Join paths in time.

    With `chain`, every later path is taken as relative motion and re-based onto the last camera of the path
    before it, and its first frame (which repeats that camera) is dropped; otherwise frames are stacked as
    they are. Size and fps come from the first path.
    """
    if not paths:
        raise CameraError("concatenate needs at least one path")
    mats = [paths[0].world_from_camera]
    intrs = [paths[0].intrinsics]
    for p in paths[1:]:
        if chain:
            rel = relative_to_first(p)
            mats.append((mats[-1][-1] @ rel.world_from_camera)[1:])
            intrs.append(p.intrinsics[1:])
        else:
            mats.append(p.world_from_camera)
            intrs.append(p.intrinsics)
    first = paths[0]
    return replace(first, world_from_camera=np.concatenate(mats), intrinsics=np.concatenate(intrs))


def resample(path: CameraPath, num_frames: int, times: np.ndarray | None = None) -> CameraPath:
    """The path at `num_frames` evenly spaced times (or at `times` in [0, 1]) over its whole span.

    Rotations by spherical interpolation (scipy `Slerp`), translations and intrinsics by a shape-preserving
    cubic spline (PCHIP: smooth, no overshoot at a stop). The first and last frames are kept exactly.
    """
    from scipy.spatial.transform import Rotation, Slerp

    if num_frames < 1:
        raise CameraError(f"frame count must be at least 1, got {num_frames}")
    n = len(path)
    src_t = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    dst_t = np.linspace(0.0, 1.0, num_frames) if times is None else np.clip(np.asarray(times, float), 0, 1)
    from scipy.interpolate import PchipInterpolator  # imported here: 0.4 s that `--help` should not pay

    if n == 1:
        return replace(
            path,
            world_from_camera=np.repeat(path.world_from_camera, len(dst_t), axis=0),
            intrinsics=np.repeat(path.intrinsics, len(dst_t), axis=0),
        )
    rots = Slerp(src_t, Rotation.from_matrix(path.rotations))(dst_t).as_matrix()
    if n == 2:
        trans = path.centers[0] + dst_t[:, None] * (path.centers[1] - path.centers[0])
        intr = path.intrinsics[0] + dst_t[:, None] * (path.intrinsics[1] - path.intrinsics[0])
    else:
        trans = PchipInterpolator(src_t, path.centers, axis=0)(dst_t)
        intr = PchipInterpolator(src_t, path.intrinsics, axis=0)(dst_t)
    return replace(path, world_from_camera=make_pose(rots, trans), intrinsics=intr)


def retime(path: CameraPath, kind: str = "linear", a: float | None = None) -> CameraPath:
    """The same route travelled with another speed curve (`ease`), same frame count."""
    n = len(path)
    t = np.linspace(0.0, 1.0, n)
    return resample(path, n, times=ease(t, kind, a))


def rotation_angles_deg(path: CameraPath) -> np.ndarray:
    """(N,) rotation angle of each camera relative to the first (degrees)."""
    from scipy.spatial.transform import Rotation

    rel = relative_to_first(path)
    return np.degrees(Rotation.from_matrix(rel.rotations).magnitude())


def fit_intrinsics(
    source_intrinsics, source_size: tuple[int, int], target_size: tuple[int, int]
) -> np.ndarray:
    """(4,) intrinsics that show the source view in a target image of another size, "cover" fit: the source
    image is scaled to fill the target and centre-cropped (as ReCamMaster crops its inputs).

    A target camera with these intrinsics at the source pose sees the centre of the source image.
    """
    fx, fy, cx, cy = np.asarray(source_intrinsics, dtype=np.float64)
    (sw, sh), (tw, th) = source_size, target_size
    scale = max(tw / sw, th / sh)
    return np.array(
        [fx * scale, fy * scale, tw / 2.0 + (cx - sw / 2.0) * scale, th / 2.0 + (cy - sh / 2.0) * scale]
    )
