"""Start and stop `shotsmith view`: a viser server on a workspace's `ViewerSession`, and its URL.

`start` binds 127.0.0.1 (or `host`) on `port`, or the next free port when that one is busy (viser's own search;
`ViewerServer.port` says which), builds the scene and panel (`app.ViewerApp`) and returns at once; `serve` also
prints the URL and waits until Ctrl-C, then stops cleanly. `prepare_workspace` makes a photo's workspace and its
3D cache first (`shotsmith view PHOTO`), through the build-3d-cache stage.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

from shotsmith import workspace as W
from shotsmith.console import console
from shotsmith.viewer import require_viser
from shotsmith.viewer.points import DEFAULT_MAX_POINTS

DEFAULT_PORT = 8080


@dataclass
class ViewerServer:
    """A running viewer."""

    server: object
    """The viser.ViserServer."""
    app: object
    """The `app.ViewerApp`."""
    host: str
    port: int
    requested_port: int

    @property
    def session(self):
        return self.app.session  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self.app.stop()  # type: ignore[attr-defined]
        with contextlib.redirect_stdout(io.StringIO()):  # viser's "Server stopped": stdout stays ours
            self.server.stop()  # type: ignore[attr-defined]


def default_workspace(photo: str | Path) -> Path:
    """shots/<photo's stem>/ for `shotsmith view PHOTO` without -w."""
    from shotsmith.pipeline import slugify

    return Path("shots") / slugify(Path(photo).stem)


def prepare_workspace(
    photo: str | Path, workspace: str | Path | None = None, depth: str = "auto"
) -> W.Workspace:
    """The workspace of `photo` with its 3D cache (build-3d-cache; skipped when it is up to date)."""
    from shotsmith.stage import execute
    from shotsmith.stages import build_cache

    ws = W.Workspace(workspace or default_workspace(photo))
    execute(ws, build_cache.STAGE, build_cache.Config(image=str(photo), depth=depth))
    return ws


def start(
    ws: W.Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT, max_points: int = DEFAULT_MAX_POINTS
) -> ViewerServer:
    """Start the viewer of `ws` in the background and return it (`.url`, `.stop()`)."""
    viser = require_viser()
    from shotsmith.viewer.app import ViewerApp
    from shotsmith.viewer.session import ViewerSession

    session = ViewerSession(ws, max_points=max_points)
    with contextlib.redirect_stdout(io.StringIO()):  # viser prints its own URL box; we print ours
        server = viser.ViserServer(host=host, port=int(port), label="shotsmith view", verbose=False)
    try:
        app = ViewerApp(session, server)
    except BaseException:
        server.stop()
        raise
    return ViewerServer(server, app, host, int(server.get_port()), int(port))


def serve(
    ws: W.Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT, max_points: int = DEFAULT_MAX_POINTS
) -> None:
    """Start the viewer, print its URL, and wait for Ctrl-C."""
    viewer = start(ws, host, port, max_points)
    if viewer.port != viewer.requested_port:
        console.print(f"port {viewer.requested_port} is busy; using {viewer.port}")
    if viewer.session.error:
        for line in viewer.session.error.splitlines():
            console.print(f"[red]error:[/red] {line}", soft_wrap=True)
    if viewer.session.cache is None:
        console.print(
            f"{ws.root}: no 3D cache, showing the path alone; add the photo with "
            f"`shotsmith view PHOTO -w {ws.root}`",
            soft_wrap=True,
            markup=False,
        )
    console.print(f"shotsmith view: open {viewer.url}  (Ctrl-C stops)", soft_wrap=True, markup=False)
    print(viewer.url, flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping the viewer")
    finally:
        viewer.stop()
