"""Settings, outputs and the splatting rule shared by every point renderer (reference, torch, numba).

Owns `RenderSettings`, `RenderOutput`, `RenderedVideo` and the exact arithmetic every backend repeats (how a point
projects, how big its footprint is, which pixels it touches and with what weight), written down once here so the
three backends can be checked against each other. It knows nothing of workspaces, files or camera paths.

The rule, per frame (docs/RENDERING.md has the why):
1. Project with the target camera (float64): ``x_c = camera_from_world @ X``; keep points with
   ``near < z < inf``; ``u = fx * x * (1 / z) + cx``, ``v = fy * y * (1 / z) + cy`` (pixel centres at
   integer + 0.5).
2. Footprint radius in pixels ``r = clamp(f * radius * (1 / z), min_radius_px, max_radius_px)`` with
   ``f = (fx + fy) / 2`` (``r = min_radius_px`` when no radius is given). The point covers the pixels whose
   centre lies in its footprint around ``(u, v)``: the square ``|dx| <= r and |dy| <= r``, or the disc through
   that square's corners, ``dx² + dy² <= 2 r²`` (``reach`` = r or √2 r is how far a footprint extends).
3. Depth test: ``zbuf = min z`` over the points covering a pixel (float32).
4. Blend: the points covering a pixel with ``z <= zbuf * (1 + depth_tolerance)`` (the visible surface only, so
   depth edges stay sharp) are averaged with weight ``exp(-0.5 * d² / (kernel_sigma * r)²)``, ``d`` the distance
   from the pixel centre to ``(u, v)``. Colour and depth are the weighted means; a pixel is covered when any
   point passes the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: The round footprint's radius over r: the disc through the corners of the square footprint.
ROUND_REACH = 2.0**0.5

Backend = Literal["auto", "numba", "torch", "reference"]
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch", "reference")
Footprint = Literal["square", "round"]
FOOTPRINTS: tuple[str, ...] = ("square", "round")


@dataclass(frozen=True)
class RenderSettings:
    """How points are splatted. The defaults give hole-free, anti-aliased renders of a per-pixel point cache."""

    backend: Backend = "auto"
    """"numba" (compiled, parallel; the fast path), "torch" (vectorised, chunked), "reference" (plain loops, the
    test oracle; only for tiny scenes) or "auto" (numba when importable, else torch)."""
    footprint: Footprint = "square"
    """Pixels a point covers: "square" (|dx|, |dy| <= r; hole-free when r >= half the projected point spacing)
    or "round" (dx² + dy² <= 2 r², the disc through the square's corners: hole-free wherever the square is, a
    little fatter, and rounder when splats are magnified)."""
    min_radius_px: float = 0.5
    """Smallest footprint radius in pixels: 0.5 covers exactly the pixel the point falls in."""
    max_radius_px: float = 8.0
    """Largest footprint radius in pixels (points very near the camera would otherwise cover the frame)."""
    kernel_sigma: float = 0.5
    """Width of the Gaussian blending weight as a fraction of the footprint radius (anti-aliasing: points whose
    centre is nearer the pixel centre count more; magnified splats blend smoothly into their neighbours)."""
    depth_tolerance: float = 0.01
    """Relative depth band of the visible surface: points within zbuf * (1 + tol) of the nearest are blended,
    points behind it are hidden."""
    near: float = 1e-3
    """Points with camera z-depth at or below this (scene units) are dropped: behind or at the camera."""
    max_samples_per_chunk: int = 1 << 22
    """Torch backend: most (point, pixel) samples held in memory at once (bounds memory, not the result)."""

    def __post_init__(self) -> None:
        from shotsmith.errors import InputError

        if self.backend not in BACKENDS:
            raise InputError(f"render backend {self.backend!r}: expected one of {', '.join(BACKENDS)}")
        if self.footprint not in FOOTPRINTS:
            raise InputError(f"splat footprint {self.footprint!r}: expected one of {', '.join(FOOTPRINTS)}")
        if not (0 < self.min_radius_px <= self.max_radius_px):
            raise InputError(
                f"splat radius range [{self.min_radius_px}, {self.max_radius_px}] px: need 0 < min <= max"
            )
        if not self.kernel_sigma > 0:
            raise InputError(f"kernel_sigma {self.kernel_sigma}: must be positive")
        if not self.depth_tolerance >= 0:
            raise InputError(f"depth_tolerance {self.depth_tolerance}: must be >= 0")
        if not self.near > 0:
            raise InputError(f"near {self.near}: must be positive")
        if self.max_samples_per_chunk < 1:
            raise InputError(f"max_samples_per_chunk {self.max_samples_per_chunk}: must be >= 1")

    @property
    def radius_range(self) -> tuple[float, float]:
        """(min, max) footprint radius r in pixels."""
        return self.min_radius_px, self.max_radius_px

    @property
    def reach_factor(self) -> float:
        """How far a footprint reaches from its centre, in units of r: 1 (square) or √2 (round)."""
        return ROUND_REACH if self.footprint == "round" else 1.0


@dataclass
class RenderOutput:
    """One rendered frame."""

    rgb: np.ndarray
    """(H, W, 3) uint8 colour; 0 where nothing was rendered."""
    mask: np.ndarray
    """(H, W) bool, True where a point covers the pixel."""
    depth: np.ndarray
    """(H, W) float32 z-depth of the visible surface in the target camera; 0 where empty."""


@dataclass
class RenderedVideo:
    """A rendered camera path."""

    rgb: np.ndarray
    """(T, H, W, 3) uint8 colour; 0 where nothing was rendered."""
    mask: np.ndarray
    """(T, H, W) bool coverage."""
    depth: np.ndarray
    """(T, H, W) float32 z-depth; 0 where empty."""

    def __len__(self) -> int:
        return len(self.rgb)


@dataclass(frozen=True)
class Frame:
    """A target camera as the backends take it (prepared once by `shotsmith.render.render_points`)."""

    camera_from_world: np.ndarray
    """(3, 4) float64 world-to-camera rows (OpenCV axes)."""
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def focal(self) -> float:
        """The focal length that scales footprints: (fx + fy) / 2."""
        return 0.5 * (self.fx + self.fy)


def empty_output(width: int, height: int) -> RenderOutput:
    return RenderOutput(
        rgb=np.zeros((height, width, 3), np.uint8),
        mask=np.zeros((height, width), bool),
        depth=np.zeros((height, width), np.float32),
    )
