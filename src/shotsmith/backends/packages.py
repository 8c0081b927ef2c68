"""Whether a backend's Python packages are on this machine, and their versions: cheap checks, no imports.

`package_available` asks `importlib.util.find_spec` and names what to install; `package_version` reads the
installed distribution's metadata. The neural backends use them in `available()` and `version()`, so
checking a backend never imports torch or a model library.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version


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
