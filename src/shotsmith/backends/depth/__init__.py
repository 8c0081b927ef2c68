"""Depth backends: an RGB image in, a z-depth map (plus intrinsics when the model estimates them) out.

The interface (`DepthBackend`, `DepthResult`, the registry) is `shotsmith.backends.depth.base`, re-exported
here; this module imports the built-in backends and chooses among them. Backends register under a name
(`prior`, `depth-anything-v2`, `moge`, `file`), are built by `get_depth_backend(name, **kw)`, load their weights
in `load()` (never in the constructor) and run with `backend(rgb)`. `resolve_depth("auto")` picks a real model
whose weights are already on this machine (a local folder, or the Hugging Face hub cache, checked without
network) and the embedded `prior` otherwise, and prints its choice. Heavy packages (torch, transformers, moge)
are imported only inside the neural backends' methods. This module knows nothing of workspaces;
`shotsmith.stages.build_cache` turns a `DepthResult` into the cache.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from shotsmith.backends.depth.base import (
    DEPTH_BACKENDS,
    DEPTH_FILE_SUFFIXES,
    DepthBackend,
    DepthFileKind,
    DepthKind,
    DepthResult,
    depth_of_frames,
    register,
)
from shotsmith.console import info
from shotsmith.errors import BackendUnavailable, InputError

#: Order in which `auto` looks for real-model weights on this machine.
AUTO_ORDER: tuple[str, ...] = ("moge", "depth-anything-v2")


def _load_builtin() -> None:
    from shotsmith.backends.depth import file, neural, prior  # noqa: F401 - registration side effect


def names() -> list[str]:
    """Registered backend names (without "auto")."""
    _load_builtin()
    return DEPTH_BACKENDS.names()


def is_depth_file(value: str) -> bool:
    """True when a `--depth` value names a file (an existing path, or a depth-file suffix)."""
    _load_builtin()
    if value == "auto" or value in DEPTH_BACKENDS:
        return False
    return Path(value).suffix.lower() in DEPTH_FILE_SUFFIXES or os.path.isfile(value)


def get_depth_backend(name: str, **kwargs) -> DepthBackend:
    """A depth backend by registry name (not "auto"; see `resolve_depth`). Keyword arguments go to its
    constructor (`model=` for a hub id or folder, `path=` and `kind=` for `file`)."""
    _load_builtin()
    return DEPTH_BACKENDS.create(name, **kwargs)


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
    if model is None and hub_reachable():
        from shotsmith.backends.depth.neural import DepthAnythingSettings

        backend = get_depth_backend("depth-anything-v2", settings=DepthAnythingSettings(fetch=True))
        ok, _ = backend.available()
        if ok:
            return backend, "auto: no depth weights here; Depth Anything V2 Small is fetched once (~0.1 GB)"
    return (
        get_depth_backend("prior"),
        "auto: no depth-model weights on this machine, using the embedded classical prior "
        "(`shotsmith models pull depth-anything-v2-small` gets a better one)",
    )


@functools.cache
def hub_reachable(timeout: float = 1.5) -> bool:
    """Whether the Hugging Face hub can be reached: False at once when offline (HF_HUB_OFFLINE,
    SHOTSMITH_OFFLINE), else a name lookup and connection bounded by `timeout` seconds (never a long wait);
    asked once per process."""
    import socket
    import threading

    from shotsmith.models import offline

    if offline():
        return False
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(("huggingface.co", 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


__all__ = [
    "AUTO_ORDER",
    "DEPTH_BACKENDS",
    "DEPTH_FILE_SUFFIXES",
    "DepthBackend",
    "DepthFileKind",
    "DepthKind",
    "DepthResult",
    "depth_of_frames",
    "get_depth_backend",
    "is_depth_file",
    "names",
    "register",
    "resolve_depth",
]
