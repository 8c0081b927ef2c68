"""Keyframes of the viewer's path editor and the camera path through them (pure functions, no viser).

A `Keyframe` is a camera pose (`world_from_camera`, OpenCV axes, docs/CONVENTIONS.md), a **vertical** field of
view in degrees (what viser, nerfstudio and GEN3C's GUI edit) and a normalised time in [0, 1]. `path_from_keyframes`
samples the path at frame k's time k / (N - 1): centres and field of view by a cubic spline through the keyframes
(scipy `CubicSpline`, natural ends; straight lines for two), rotations by scipy's `RotationSpline` (smooth,
through every keyframe; `Slerp` for two); before the first keyframe's time the camera holds the first keyframe,
after the last the last one. Intrinsics are square pixels with a centred principal point. The keyframes travel
in the path's `meta["viewer_keyframes"]` (plain JSON) so a saved trajectory.json reopens as the same keyframes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation, RotationSpline, Slerp

from shotsmith.camera import CameraPath, fov_from_focal, make_pose, orthonormalize
from shotsmith.errors import InputError

#: Key of the keyframes in `CameraPath.meta` (and so in trajectory.json's `shotsmith.source`).
META_KEY = "viewer_keyframes"
#: Closest two keyframe times may be (normalised time).
MIN_TIME_GAP = 1e-3


@dataclass
class Keyframe:
    """One keyframe: pose, vertical field of view, normalised time."""

    world_from_camera: np.ndarray
    """(4, 4) camera-to-world, OpenCV axes."""
    fov: float
    """Vertical field of view in degrees."""
    time: float = 0.0
    """Normalised time in [0, 1] at which the camera passes here."""
    id: int = field(default=0, compare=False)
    """A label that survives reordering (the editor's handle names)."""

    def __post_init__(self) -> None:
        m = np.asarray(self.world_from_camera, dtype=np.float64).copy()
        if m.shape != (4, 4) or not np.isfinite(m).all():
            raise InputError(f"keyframe pose must be a finite 4x4 matrix, got shape {m.shape}")
        m[:3, :3] = orthonormalize(m[:3, :3])
        m[3] = [0.0, 0.0, 0.0, 1.0]
        self.world_from_camera = m
        self.fov = float(self.fov)
        if not 0.0 < self.fov < 180.0:
            raise InputError(f"keyframe field of view {self.fov:g} degrees: must lie between 0 and 180")
        self.time = float(min(max(self.time, 0.0), 1.0))

    @property
    def position(self) -> np.ndarray:
        return self.world_from_camera[:3, 3].copy()

    @property
    def rotation(self) -> np.ndarray:
        return self.world_from_camera[:3, :3].copy()

    def moved(self, position=None, rotation=None) -> Keyframe:
        """A copy at another position and/or rotation (3, 3)."""
        m = self.world_from_camera.copy()
        if position is not None:
            m[:3, 3] = np.asarray(position, dtype=np.float64)
        if rotation is not None:
            m[:3, :3] = np.asarray(rotation, dtype=np.float64)
        return Keyframe(m, self.fov, self.time, self.id)

    def to_json(self) -> dict:
        return {"world_from_camera": self.world_from_camera.tolist(), "fov": self.fov, "time": self.time}

    @classmethod
    def from_json(cls, data: dict, id: int = 0) -> Keyframe:
        try:
            return cls(np.asarray(data["world_from_camera"], dtype=np.float64), data["fov"], data["time"], id)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"keyframe {id}: expected world_from_camera (4x4), fov and time ({exc})"
            ) from None


def vertical_fov(cam: CameraPath, index: int = 0) -> float:
    """Vertical field of view in degrees of frame `index` of a path."""
    return fov_from_focal(float(cam.intrinsics[index, 1]), cam.height)


def intrinsics_for(fov_deg, width: int, height: int) -> np.ndarray:
    """(N, 4) square-pixel intrinsics with a centred principal point for vertical fields of view (degrees)."""
    fov = np.atleast_1d(np.asarray(fov_deg, dtype=np.float64))
    f = 0.5 * height / np.tan(np.radians(fov) / 2.0)
    return np.stack([f, f, np.full_like(f, width / 2.0), np.full_like(f, height / 2.0)], axis=1)


def sorted_keyframes(keyframes: list[Keyframe]) -> list[Keyframe]:
    """The keyframes by time; two at (almost) the same time are an error naming them."""
    ks = sorted(keyframes, key=lambda k: k.time)
    for a, b in zip(ks, ks[1:], strict=False):
        if b.time - a.time < MIN_TIME_GAP:
            raise InputError(
                f"keyframes {a.id} and {b.id} are both at time {a.time:.3f}; give each keyframe its own time "
                "(or press 'Even times')"
            )
    return ks


def spread_times(keyframes: list[Keyframe]) -> list[Keyframe]:
    """The same keyframes in the same order at evenly spaced times 0 .. 1 (one keyframe: time 0)."""
    n = len(keyframes)
    return [
        Keyframe(k.world_from_camera, k.fov, (i / (n - 1)) if n > 1 else 0.0, k.id)
        for i, k in enumerate(keyframes)
    ]


def path_from_keyframes(
    keyframes: list[Keyframe],
    frames: int,
    fps: float,
    width: int,
    height: int,
    meta: dict | None = None,
) -> CameraPath:
    """The `frames`-frame path through `keyframes` (module docstring); `meta` is kept, with the keyframes."""
    if not keyframes:
        raise InputError("no keyframes: add one from the current view first")
    if frames < 1:
        raise InputError(f"frame count {frames}: must be at least 1")
    ks = sorted_keyframes(keyframes)
    n = len(ks)
    t = np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)
    times = np.array([k.time for k in ks])
    pos = np.stack([k.position for k in ks])
    fov = np.array([k.fov for k in ks])
    rots = Rotation.from_matrix(np.stack([k.rotation for k in ks]))
    tc = np.clip(t, times[0], times[-1])
    if n == 1:
        centers = np.repeat(pos, len(t), axis=0)
        fovs = np.repeat(fov, len(t))
        rot = np.repeat(rots.as_matrix(), len(t), axis=0)
    elif n == 2:
        s = ((tc - times[0]) / (times[1] - times[0]))[:, None]
        centers = pos[0] + s * (pos[1] - pos[0])
        fovs = fov[0] + s[:, 0] * (fov[1] - fov[0])
        rot = Slerp(times, rots)(tc).as_matrix()
    else:
        from scipy.interpolate import CubicSpline, PchipInterpolator

        centers = CubicSpline(times, pos, axis=0, bc_type="natural")(tc)
        fovs = PchipInterpolator(times, fov)(tc)  # no overshoot: a zoom never passes its keyframes' values
        rot = RotationSpline(times, rots)(tc).as_matrix()
    info = dict(meta or {})
    info[META_KEY] = [k.to_json() for k in ks]
    return CameraPath(
        make_pose(orthonormalize(rot), centers), intrinsics_for(fovs, width, height), width, height, fps, info
    )


def keyframes_from_meta(cam: CameraPath) -> list[Keyframe]:
    """The keyframes a path was made from (its meta), or [] when it was not made from keyframes."""
    raw = cam.meta.get(META_KEY)
    if not isinstance(raw, list):
        return []
    return [Keyframe.from_json(d, i) for i, d in enumerate(raw)]


def keyframes_from_path(cam: CameraPath, count: int = 3) -> list[Keyframe]:
    """`count` keyframes sampled evenly from a path (first and last frames included), to edit a planned move."""
    n = len(cam)
    count = max(1, min(int(count), n))
    idx = np.unique(np.round(np.linspace(0, n - 1, count)).astype(int))
    return [
        Keyframe(cam.world_from_camera[i], vertical_fov(cam, int(i)), (i / (n - 1)) if n > 1 else 0.0, j)
        for j, i in enumerate(idx)
    ]


def frame_times(frames: int) -> np.ndarray:
    """(N,) normalised time of each frame, k / (N - 1)."""
    return np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)


def nearest_frame(time: float, frames: int) -> int:
    """The frame whose time is nearest `time`."""
    return int(round(min(max(time, 0.0), 1.0) * (frames - 1))) if frames > 1 else 0


def time_color(t: float) -> tuple[int, int, int]:
    """An RGB colour for normalised time t (blue at the start, through green, to orange-red at the end)."""
    t = min(max(float(t), 0.0), 1.0)
    stops = np.array([[40, 90, 230], [30, 190, 160], [250, 200, 40], [235, 70, 40]], dtype=np.float64)
    x = t * (len(stops) - 1)
    i = min(int(math.floor(x)), len(stops) - 2)
    c = stops[i] + (x - i) * (stops[i + 1] - stops[i])
    return int(c[0]), int(c[1]), int(c[2])
