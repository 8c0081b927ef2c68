"""The depth interface: what a depth backend is and returns, and the registry its backends join.

`DepthBackend` (a name, `available`, `weights_present`, `load`, `version`, `__call__(rgb) -> DepthResult`) and
`DEPTH_BACKENDS`, the registry the backend modules (`prior`, `file`, `neural`) register into. Choosing a backend
(`auto`, depth files) is `shotsmith.backends.depth`'s, which imports the backends; they import only this module.
"""

from __future__ import annotations

import abc
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


DEPTH_BACKENDS: Registry[DepthBackend] = Registry(
    "depth backend", alternatives=f"or give a depth file ({', '.join(DEPTH_FILE_SUFFIXES)})"
)
#: Class decorator: make a backend buildable by `get_depth_backend(name)`.
register = DEPTH_BACKENDS.register
