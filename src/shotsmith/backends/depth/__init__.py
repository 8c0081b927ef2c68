"""The depth interface: an RGB image in, a z-depth map (plus intrinsics when the model estimates them) out.

Backends register under a name (`prior`, `depth-anything-v2`, `moge`, `file`), are built by
`get_depth_backend(name, **kw)`, load their weights in `load()` (never in the constructor) and run with
`backend(rgb)`. `resolve_depth("auto")` picks a real model whose weights are already on this machine (a local
folder, or the Hugging Face hub cache, checked without network) and the embedded `prior` otherwise, and prints
its choice. Heavy packages (torch, transformers, moge) are imported only inside the neural backends' methods.
This module knows nothing of workspaces; `shotsmith.stages.build_cache` turns a `DepthResult` into the cache.
"""

from __future__ import annotations

import abc
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.console import info
from shotsmith.errors import BackendUnavailable, InputError

DepthKind = Literal["metric", "relative"]
DepthFileKind = Literal["depth", "disparity"]

#: Suffixes that make `--depth VALUE` a file rather than a backend name.
DEPTH_FILE_SUFFIXES = (".npy", ".npz", ".png")
#: Order in which `auto` looks for real-model weights on this machine.
AUTO_ORDER: tuple[str, ...] = ("moge", "depth-anything-v2")


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


_REGISTRY: dict[str, Callable[..., DepthBackend]] = {}


def register(name: str) -> Callable[[Callable[..., DepthBackend]], Callable[..., DepthBackend]]:
    """Class decorator: make a backend buildable by `get_depth_backend(name)`."""

    def deco(factory):
        _REGISTRY[name] = factory
        return factory

    return deco


def _load_builtin() -> None:
    from shotsmith.backends.depth import file, neural, prior  # noqa: F401 - registration side effect


def names() -> list[str]:
    """Registered backend names (without "auto")."""
    _load_builtin()
    return sorted(_REGISTRY)


def is_depth_file(value: str) -> bool:
    """True when a `--depth` value names a file (an existing path, or a depth-file suffix)."""
    _load_builtin()
    if value in ("auto", *_REGISTRY):
        return False
    return Path(value).suffix.lower() in DEPTH_FILE_SUFFIXES or os.path.isfile(value)


def get_depth_backend(name: str, **kwargs) -> DepthBackend:
    """A depth backend by registry name (not "auto"; see `resolve_depth`). Keyword arguments go to its
    constructor (`model=` for a hub id or folder, `path=` and `kind=` for `file`)."""
    _load_builtin()
    if name not in _REGISTRY:
        raise InputError(
            f"unknown depth backend {name!r}; choose one of auto, {', '.join(sorted(_REGISTRY))}, or give a depth "
            f"file ({', '.join(DEPTH_FILE_SUFFIXES)})"
        )
    return _REGISTRY[name](**kwargs)


def resolve_depth(
    name: str, model: str | None = None, depth_kind: DepthFileKind = "depth", announce: bool = True
) -> tuple[DepthBackend, str]:
    """(backend, why) for `--depth NAME|auto|FILE`; prints the choice.

    "auto" takes a real model whose weights are on this machine (`model` names its folder or hub id; without
    it the backends' default hub ids are looked up in the hub cache) and the embedded `prior` otherwise. A named
    backend that cannot run raises `BackendUnavailable` with what is missing.
    """
    _load_builtin()
    if is_depth_file(name):
        backend = get_depth_backend("file", path=name, kind=depth_kind)
        why = f"depth from the file {name} ({depth_kind})"
    elif name == "auto":
        backend, why = _auto(model)
    elif name == "file":
        raise InputError("--depth file: give the depth file's path instead, e.g. --depth depth.npy")
    else:
        kwargs = {"model": model} if model and name in ("depth-anything-v2", "moge") else {}
        backend = get_depth_backend(name, **kwargs)
        ok, reason = backend.available()
        if not ok:
            raise BackendUnavailable(f"depth backend {name!r} cannot run here: {reason}")
        why = "asked for"
    if announce:
        info(f"depth: [bold]{backend.name}[/bold] ({why})")
    return backend, why


def _auto(model: str | None) -> tuple[DepthBackend, str]:
    for candidate in AUTO_ORDER:
        kwargs = {"model": model} if model else {}
        backend = get_depth_backend(candidate, **kwargs)
        ok, _ = backend.available()
        if ok and backend.weights_present():
            return backend, f"auto: {candidate} weights found on this machine ({backend.model})"
    return (
        get_depth_backend("prior"),
        "auto: no depth-model weights on this machine, using the embedded classical prior",
    )


def package_available(*modules: str) -> tuple[bool, str]:
    """(True, "") when every module can be imported, else (False, what to install)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        hint = {"moge": "dlr-moge (and dlr-utils3d, with --no-deps)", "utils3d": "dlr-utils3d"}
        pkgs = ", ".join(hint.get(m, m) for m in missing)
        return False, f"missing Python package(s) {pkgs}; install with `pip install {pkgs}` or `make install`"
    return True, ""


__all__ = [
    "AUTO_ORDER",
    "DepthBackend",
    "DepthFileKind",
    "DepthKind",
    "DepthResult",
    "get_depth_backend",
    "is_depth_file",
    "names",
    "register",
    "resolve_depth",
]
