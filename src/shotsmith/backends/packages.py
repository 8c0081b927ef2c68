"""Whether a backend's Python packages are on this machine, and their versions: cheap checks, no imports.

`package_available` asks `importlib.util.find_spec` and names what to install; `package_version` reads the
installed distribution's metadata. The neural backends use them in `available()` and `version()`, so
checking a backend never imports torch or a model library.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version

from shotsmith.errors import BackendUnavailable


def package_available(*modules: str) -> tuple[bool, str]:
    """(True, "") when every module can be imported, else (False, what to install)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        hint = {"moge": "dlr-moge (and dlr-utils3d, with --no-deps)", "utils3d": "dlr-utils3d"}
        pkgs = ", ".join(hint.get(m, m) for m in missing)
        return False, f"missing Python package(s) {pkgs}; install with `pip install {pkgs}` or `make install`"
    return True, ""


def package_version(distribution: str, label: str | None = None) -> str:
    """ "LABEL VERSION" of an installed distribution (`label` defaults to its name), or "" when it is missing."""
    try:
        return f"{label or distribution} {version(distribution)}"
    except PackageNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------------------------
# Devices (one rule for depth, video and CLIP backends)

DEVICE_HELP = "auto (CUDA, else Apple MPS, else the CPU), cpu, cuda, cuda:N or mps"


def valid_device(device: str) -> bool:
    """auto, cpu, mps, cuda or cuda:N."""
    head, _, index = str(device).partition(":")
    if head in ("auto", "cpu", "mps"):
        return not index
    return head == "cuda" and (not index or index.isdigit())


def resolve_device(device: str | None, who: str = "") -> str:
    """The torch device a backend runs on: "auto"/None -> cuda when torch sees a GPU, else mps when available,
    else cpu; cuda:N and mps are checked (BackendUnavailable in one line when the machine lacks them)."""
    import torch

    device = device or "auto"
    prefix = f"{who}: " if who else ""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            seen = f"{count} CUDA GPU(s)" if count else "no CUDA GPU"
            raise BackendUnavailable(
                f"{prefix}--device {device} asked for, but torch sees {seen} here; use --device cpu or a machine "
                "with that GPU"
            )
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise BackendUnavailable(f"{prefix}--device mps asked for, but torch sees no Apple GPU here")
    return device
