"""`shotsmith render-guidance`: render the 3D cache along the trajectory (colour, coverage mask, depth)."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import info
from shotsmith.workspace import Workspace


@app.command("render-guidance")
def render_guidance(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    frames_png: bool = typer.Option(False, "--frames-png", help="Also write guidance/frames/NNNNN.png."),
    backend: str = typer.Option("auto", "--backend", help="Point renderer: auto, numba, torch or reference."),
    footprint: str = typer.Option("square", "--footprint", help="Splat footprint: square or round."),
    radius_factor: float = typer.Option(
        0.7, "--radius-factor", help="Splat radius as a fraction of the source pixel a point came from."
    ),
    rig: str | None = typer.Option(
        None, "--rig", help="Render every camera of a rig (`shotsmith rigs`), e.g. ring:n=4,radius=0.3."
    ),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Render cache/points.ply (and inserted objects) for every frame of trajectory.json into guidance/.

    Example: shotsmith render-guidance -w shots/x --frames-png
    """
    from shotsmith.stages.render_guidance import GuidanceOptions
    from shotsmith.stages.render_guidance import render_guidance as run

    opts = GuidanceOptions(
        backend=backend, frames_png=frames_png, footprint=footprint, radius_factor=radius_factor
    )
    ws = Workspace(workspace)
    if rig:
        from shotsmith.stages.rig import RigRenderOptions, render_guidance_rig

        rec = render_guidance_rig(ws, RigRenderOptions(rig=rig, guidance=opts), force=force)
        info(f"rig guidance: {rec.extra.get('cameras')} cameras -> {ws.path('guidance/cams')}")
        return
    rec = run(ws, opts, force=force)
    extra = rec.extra
    if not extra.get("skipped"):
        w, h = extra.get("size", [0, 0])
        info(
            f"guidance: {extra.get('frames', 0)} frames at {w}x{h}, {100 * extra.get('coverage', 0):.1f}% covered, "
            f"rendered in {extra.get('render_seconds', 0):.2f} s ({rec.backend}) -> {ws.path('guidance')}"
        )
