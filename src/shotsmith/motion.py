"""Camera motions as data, and the one function that turns a plan of motions into a `CameraPath`.

A `Motion` says what one shot segment does, in the first camera's frame of that segment (OpenCV axes, scene
units, 1.0 = subject distance). A `Plan` is a sequence of `Segment`s (a motion and a relative duration).
Presets (`shotsmith.presets`) and the text planner (`shotsmith.textplan`) both produce plans; `build_path`
is the only place where motion becomes matrices. Sign conventions (docs/CONVENTIONS.md):

- yaw > 0 pans right (rotation about +y), pitch > 0 tilts up (about +x), roll > 0 rolls clockwise (about +z);
- move = (x right, y down, z forward) in scene units;
- orbit > 0 moves the camera right around the subject while turning left to keep it centred;
- orbit_elev > 0 moves the camera up around the subject while tilting down; crane > 0 rises while tilting
  down to keep the subject centred;
- zoom multiplies the focal length (1.0 = none); dolly_zoom moves forward while the focal length keeps the
  subject's size (negative moves back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from shotsmith.camera import CameraPath, default_intrinsics, ease, make_pose
from shotsmith.errors import PlanError


@dataclass(frozen=True)
class Motion:
    """What one segment of a shot does (see the module docstring for the signs)."""

    yaw_deg: float = 0.0
    """Pan: rotation about the camera's +y axis in degrees (> 0 looks right)."""
    pitch_deg: float = 0.0
    """Tilt: rotation about the camera's +x axis in degrees (> 0 looks up)."""
    roll_deg: float = 0.0
    """Roll: rotation about the camera's +z axis in degrees (> 0 clockwise)."""
    move: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Translation (x right, y down, z forward) in scene units, in the segment's first camera frame."""
    orbit_deg: float = 0.0
    """Arc / orbit around the subject, degrees (> 0: camera moves right, turns left)."""
    orbit_elev_deg: float = 0.0
    """Vertical arc around the subject, degrees (> 0: camera moves up, tilts down)."""
    crane: float = 0.0
    """Rise (> 0) or descend, scene units, while tilting to keep the subject centred."""
    zoom: float = 1.0
    """Focal-length multiplier reached at the end of the segment (optical zoom, no camera motion)."""
    dolly_zoom: float = 0.0
    """Forward (> 0) distance of a dolly zoom; the focal length compensates to keep the subject's size."""
    handheld: float = 0.0
    """Handheld shake strength (1.0 = a typical hand: about 0.6 degrees and 0.3 % of subject distance)."""
    ease: str = "linear"
    """Speed curve of the segment (`shotsmith.camera.EASINGS`)."""
    ease_param: float | None = None
    """Parameter a of the exponential easing."""
    subject_distance: float = 1.0
    """Distance to the subject, the centre of orbits, cranes and dolly zooms (scene units)."""
    seed: int = 0
    """Seed of the handheld shake."""

    def is_static(self) -> bool:
        return self == Motion(
            ease=self.ease, ease_param=self.ease_param, subject_distance=self.subject_distance, seed=self.seed
        )

    def __add__(self, other: Motion) -> Motion:
        """Simultaneous motions: amounts add (zooms multiply); easing and subject distance from `self`
        unless `self` is linear."""
        return combine(self, other)


_ADDITIVE = (
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    "orbit_deg",
    "orbit_elev_deg",
    "crane",
    "dolly_zoom",
    "handheld",
)


def combine(a: Motion, b: Motion) -> Motion:
    """Two motions at once: amounts add, zooms multiply, moves add."""
    kw = {name: getattr(a, name) + getattr(b, name) for name in _ADDITIVE}
    kw["move"] = tuple(float(x + y) for x, y in zip(a.move, b.move, strict=True))
    kw["zoom"] = a.zoom * b.zoom
    kw["ease"] = a.ease if a.ease != "linear" else b.ease
    kw["ease_param"] = a.ease_param if a.ease_param is not None else b.ease_param
    kw["subject_distance"] = a.subject_distance
    kw["seed"] = a.seed or b.seed
    return Motion(**kw)


def scale_motion(m: Motion, factor: float) -> Motion:
    """The same motion with every amount multiplied by `factor` (zoom in log space)."""
    kw = {name: getattr(m, name) * factor for name in _ADDITIVE}
    kw["move"] = tuple(float(x * factor) for x in m.move)
    kw["zoom"] = float(m.zoom**factor)
    return replace(m, **kw)


@dataclass(frozen=True)
class Segment:
    """One motion and its relative duration within a plan."""

    motion: Motion
    weight: float = 1.0
    """Relative duration; the plan's frames are split in proportion to the weights."""
    label: str = ""
    """Human-readable origin (preset name or the words it was read from)."""


@dataclass(frozen=True)
class Plan:
    """A shot as a sequence of segments."""

    segments: tuple[Segment, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.segments:
            raise PlanError("a plan needs at least one segment")
        for s in self.segments:
            if not (s.weight > 0 and math.isfinite(s.weight)):
                raise PlanError(
                    f"segment {s.label or s.motion}: duration weight must be positive, got {s.weight}"
                )


def motion_pose(m: Motion, s: float) -> tuple[np.ndarray, float]:
    """world_from_camera (4, 4) and focal multiplier after progress `s` in [0, 1] of motion `m` (no easing,
    no shake), relative to the segment's first camera."""
    from scipy.spatial.transform import Rotation

    d = m.subject_distance
    rot = Rotation.from_euler("YXZ", [m.yaw_deg * s, m.pitch_deg * s, m.roll_deg * s], degrees=True)
    pos = np.asarray(m.move, dtype=np.float64) * s
    # Orbits: the camera travels on a circle around the subject at (0, 0, d) and turns to keep facing it.
    if m.orbit_deg or m.orbit_elev_deg:
        orbit = Rotation.from_euler("YX", [-m.orbit_deg * s, -m.orbit_elev_deg * s], degrees=True)
        center = np.array([0.0, 0.0, d])
        pos = pos + center + orbit.apply(np.array([0.0, 0.0, -d]))
        rot = orbit * rot
    if m.crane:
        h = m.crane * s
        pos = pos + np.array([0.0, -h, 0.0])
        rot = Rotation.from_rotvec([-math.atan2(h, d), 0.0, 0.0]) * rot  # tilt down to the subject
    focal = m.zoom**s
    if m.dolly_zoom:
        z = m.dolly_zoom * s
        if z >= d:
            raise PlanError(f"dolly zoom of {m.dolly_zoom} would pass through the subject at distance {d}")
        pos = pos + np.array([0.0, 0.0, z])
        focal *= (d - z) / d
    return make_pose(rot.as_matrix(), pos), float(focal)


def _shake(n: int, strength: float, seed: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth seeded shake: (n, 3) rotation vectors (radians) and (n, 3) offsets (scene units)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    rot = np.zeros((n, 3))
    off = np.zeros((n, 3))
    for k, freq in enumerate((0.4, 0.9, 1.7)):
        amp = strength / (k + 1)
        phase = rng.uniform(0, 2 * np.pi, size=(2, 3))
        rot += amp * math.radians(0.6) * np.sin(2 * np.pi * freq * t[:, None] + phase[0])
        off += amp * 0.003 * np.sin(2 * np.pi * freq * t[:, None] + phase[1])
    return rot - rot[0], off - off[0]


def split_frames(weights: list[float]) -> np.ndarray:
    """Segment boundaries in normalised time [0, 1] for the given weights: (len(weights) + 1,)."""
    w = np.asarray(weights, dtype=np.float64)
    return np.concatenate([[0.0], np.cumsum(w) / w.sum()])


def build_path(
    plan: Plan,
    num_frames: int = 81,
    width: int = 832,
    height: int = 480,
    fps: float = 16.0,
    intrinsics: np.ndarray | None = None,
    meta: dict | None = None,
) -> CameraPath:
    """The camera path of a plan: frame k is at time k / (num_frames - 1); segments share their end poses, so
    the result does not depend on how frames fall on segment boundaries. Frame 0 is the identity."""
    from scipy.spatial.transform import Rotation

    if num_frames < 1:
        raise PlanError(f"frame count must be at least 1, got {num_frames}")
    base_intr = default_intrinsics(width, height) if intrinsics is None else np.asarray(intrinsics, float)
    bounds = split_frames([s.weight for s in plan.segments])
    # End pose of every segment, chained.
    starts = [np.eye(4)]
    focal_starts = [1.0]
    for seg in plan.segments:
        end, f = motion_pose(seg.motion, 1.0)
        starts.append(starts[-1] @ end)
        focal_starts.append(focal_starts[-1] * f)
    times = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    mats = np.zeros((num_frames, 4, 4))
    focal = np.ones(num_frames)
    seg_index = np.clip(np.searchsorted(bounds, times, side="right") - 1, 0, len(plan.segments) - 1)
    for k, (t, j) in enumerate(zip(times, seg_index, strict=True)):
        seg = plan.segments[j]
        local = (t - bounds[j]) / max(bounds[j + 1] - bounds[j], 1e-12)
        s = float(ease(local, seg.motion.ease, seg.motion.ease_param))
        pose, f = motion_pose(seg.motion, s)
        mats[k] = starts[j] @ pose
        focal[k] = focal_starts[j] * f
    shake = sum(s.motion.handheld * (bounds[i + 1] - bounds[i]) for i, s in enumerate(plan.segments))
    if shake:
        strength = max(s.motion.handheld for s in plan.segments)
        seed = next((s.motion.seed for s in plan.segments if s.motion.handheld), 0)
        rotvec, off = _shake(num_frames, strength, seed, fps)
        mats[:, :3, :3] = mats[:, :3, :3] @ Rotation.from_rotvec(rotvec).as_matrix()
        mats[:, :3, 3] += np.einsum("nij,nj->ni", mats[:, :3, :3], off)
    intr = np.tile(base_intr, (num_frames, 1))
    intr[:, 0] *= focal
    intr[:, 1] *= focal
    return CameraPath(mats, intr, width, height, fps, meta=dict(meta or {}))
