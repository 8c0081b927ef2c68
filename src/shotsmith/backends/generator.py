"""The generator interface: guidance (rendered cache + hole mask) in, a complete video out.

A backend declares its constraints (frame-count rule, sizes), registers its class in `GENERATORS` under a name,
loads its weights in `load()` (never in the constructor) and runs with `generate(request)`. Building one by
name and choosing `auto` is `shotsmith.backends.generate`'s, which imports the built-in backends; they import
only this module.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from shotsmith.backends.registry import Registry
from shotsmith.camera import CameraPath


@dataclass
class GenerateRequest:
    """Everything a generator may use. Arrays are per target frame unless said otherwise."""

    guidance_rgb: np.ndarray
    """(T, H, W, 3) uint8 colour rendered from the cache; undefined where `guidance_mask` is False."""
    guidance_mask: np.ndarray
    """(T, H, W) bool, True where the cache covers the pixel."""
    guidance_depth: np.ndarray
    """(T, H, W) rendered z-depth in scene units, 0 where empty: float16 (as guidance/depth.npz stores it) or
    float32."""
    cameras: CameraPath
    """The target path (T frames at H x W)."""
    prompt: str = ""
    """Text handed to text-conditioned generators (caption.json's `text`)."""
    source_rgb: np.ndarray | None = None
    """(h, w, 3) uint8 source image at cache resolution (single-image shots)."""
    source_depth: np.ndarray | None = None
    """(h, w) float32 source z-depth in scene units, 0 = invalid."""
    source_intrinsics: np.ndarray | None = None
    """(4,) source (fx, fy, cx, cy) at cache resolution."""
    source_world_from_camera: np.ndarray | None = None
    """(4, 4) source camera pose (identity for single images)."""
    object_mask: np.ndarray | None = None
    """(T, H, W) bool pixels of inserted objects the generator must keep."""
    seed: int = 0
    steps: int = 30
    strength: float = 1.0
    guidance_scale: float = 5.0
    extra: dict = field(default_factory=dict)
    writable_guidance: bool = False
    """True when the caller no longer needs `guidance_rgb`: a generator may write its output into it (no second
    (T, H, W, 3) stack; fresh memory is slow on some machines)."""


@dataclass(frozen=True)
class Constraints:
    """What a backend accepts; the plan is resampled to fit (with a printed note)."""

    frame_rule: str = "any"
    """"any", "4k+1" (Wan), "fixed" (use `frames`)."""
    frames: int | None = None
    """Fixed frame count when `frame_rule == "fixed"` (CogVideoX: 49)."""
    size: tuple[int, int] | None = None
    """Fixed (width, height), or None for any even size."""
    multiple_of: int = 2
    """Width and height must be multiples of this."""

    def fit_frames(self, n: int) -> int:
        if self.frame_rule == "fixed" and self.frames:
            return self.frames
        if self.frame_rule == "4k+1":
            return max(1, 4 * round((n - 1) / 4) + 1)
        return n


class Generator(abc.ABC):
    """Base class: subclasses set `name`, `constraints`, and implement `generate`."""

    name: str = ""
    constraints: Constraints = Constraints()
    streams_frames: bool = False
    """True when `generate(request, on_frame=...)` hands each frame over as soon as it is final (the stage then
    encodes the output while the rest is generated)."""

    def available(self) -> tuple[bool, str]:
        """(can run here, reason if not). Cheap: no imports of heavy packages beyond a find_spec."""
        return True, ""

    def load(self) -> None:  # noqa: B027 - optional hook, a no-op for embedded backends
        """Load weights (no-op for embedded backends)."""

    def version(self) -> str:
        return ""

    @abc.abstractmethod
    def generate(self, request: GenerateRequest) -> np.ndarray:
        """(T, H, W, 3) uint8 video."""


GENERATORS: Registry[Generator] = Registry("generator")
#: Class decorator: make a backend buildable by `get_generator(name)`.
register = GENERATORS.register
