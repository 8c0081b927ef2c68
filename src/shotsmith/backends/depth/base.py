"""The depth interface: what a depth backend is and returns, and the registry its backends join.

`DepthBackend` (a name, `available`, `weights_present`, `load`, `version`, `__call__(rgb) -> DepthResult`) and
`DEPTH_BACKENDS`, the registry the backend modules (`prior`, `file`, `neural`) register into. Choosing a backend
(`auto`, depth files) is `shotsmith.backends.depth`'s, which imports the backends; they import only this module.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from shotsmith.backends.registry import Registry

DepthKind = Literal["metric", "relative"]
DepthFileKind = Literal["depth", "disparity"]

#: Suffixes that make `--depth VALUE` a file rather than a backend name.
DEPTH_FILE_SUFFIXES = (".npy", ".npz", ".png")


@dataclass
class DepthResult:
    """What a depth backend returns for one (H, W, 3) image."""

    depth: np.ndarray
    """(H, W) float32 z-depth in the backend's units (metres when `kind == "metric"`); 0 = invalid."""
    kind: DepthKind
    """"metric" (metres) or "relative" (an unknown global scale)."""
    intrinsics: np.ndarray | None = None
    """(4,) (fx, fy, cx, cy) in pixels at (H, W) when the model estimates them (MoGe), else None."""
    mask: np.ndarray | None = None
    """(H, W) bool, True where the backend trusts its depth (None = wherever depth > 0)."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (resized input, invalid values dropped); printed by the stage."""


class DepthBackend(abc.ABC):
    """Base class: subclasses set `name` and implement `__call__`; neural ones also `load`."""

    name: str = ""
    model: str = ""
    """The hub id, folder or file the backend reads ("" for the embedded prior)."""
    frame_threads: bool = False
    """True when `__call__` is a pure function of its image whose heavy calls release the GIL (OpenCV,
    scikit-image's Cython): `depth_of_frames` then runs frames in a thread pool."""

    def available(self) -> tuple[bool, str]:
        """(can run here, reason if not). Cheap: no heavy imports, only `find_spec`."""
        return True, ""

    def weights_present(self) -> bool:
        """True when the weights are on this machine already (a local folder or the hub cache); no network."""
        return True

    def load(self) -> None:  # noqa: B027 - optional hook, a no-op for backends without weights
        """Load weights (no-op for backends without any)."""

    def version(self) -> str:
        """The backend's version string, recorded in cache.json and shot.json."""
        return ""

    @abc.abstractmethod
    def __call__(self, rgb: np.ndarray) -> DepthResult:
        """Depth of an (H, W, 3) uint8 RGB image."""


def depth_of_frames(
    backend: DepthBackend, frames: Sequence[np.ndarray] | np.ndarray, threads: int | None = None
) -> Iterator[DepthResult]:
    """`backend(frame)` of each frame, in order; frames run in a pool of `threads` threads (default: the CPU
    count) when the backend says `frame_threads`, else one after another. The results are those of the plain
    loop (each call sees only its frame)."""
    n = len(frames)
    workers = min(n, threads or os.cpu_count() or 1)
    if not backend.frame_threads or workers < 2:
        for t in range(n):
            yield backend(frames[t])
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix=f"depth-{backend.name}") as pool:
        # at most 2 frames per worker in flight, so memory stays bounded on long videos
        pending = [pool.submit(backend, frames[t]) for t in range(min(n, 2 * workers))]
        for t in range(n):
            result = pending[t].result()
            pending[t] = None  # type: ignore[call-overload]
            if t + 2 * workers < n:
                pending.append(pool.submit(backend, frames[t + 2 * workers]))
            yield result


DEPTH_BACKENDS: Registry[DepthBackend] = Registry(
    "depth backend", alternatives=f"or give a depth file ({', '.join(DEPTH_FILE_SUFFIXES)})"
)
#: Class decorator: make a backend buildable by `get_depth_backend(name)`.
register = DEPTH_BACKENDS.register
