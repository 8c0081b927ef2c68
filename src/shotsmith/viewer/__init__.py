"""The local web viewer (`shotsmith view`) and the static trajectory.html.

`session` holds the viewer's state and edits (written through the stages, no viser), `keyframes` and `points`
its pure domain, `app` the viser glue (scene, panel, callbacks), `server` starts and stops it, `static` the
self-contained page `plan` and `run` write beside trajectory.png (no viser). viser is the optional extra
`shotsmith[viewer]`; `require_viser` says how to get it. Importing this package imports nothing heavy.
"""

from __future__ import annotations

from shotsmith.errors import BackendUnavailable

INSTALL_HINT = 'pip install "shotsmith[viewer]" (or `make install`, which installs it)'


def require_viser():
    """The viser module, or a BackendUnavailable saying how to install it."""
    try:
        import viser
    except ImportError as exc:
        raise BackendUnavailable(
            f"shotsmith view needs viser, which is not installed: {INSTALL_HINT}"
        ) from exc
    return viser
