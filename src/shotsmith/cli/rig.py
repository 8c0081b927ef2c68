"""`shotsmith rigs`, `shotsmith render-guidance-rig` and `shotsmith generate-rig`: multi-camera shots.

Thin wrappers: rigs come from `shotsmith.rigs`, the stages are `shotsmith.stages.rig`'s. The user-facing entry
point is `--rig RIG` on run / render-guidance / generate / recapture (docs/RIGS.md); the two stage commands
here run the rig stages alone.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from shotsmith.cli import app
from shotsmith.console import console, info
from shotsmith.workspace import OUTPUT_CAMS, OUTPUT_GRID, Workspace


def rigs_table() -> Table:
    """The table of `shotsmith rigs` (also for `shotsmith presets --rigs`)."""
    from shotsmith.rigs import list_rigs

    table = Table(
        "rig", "cameras", "units", "parameters (defaults)", "what it is", title="camera rigs (docs/RIGS.md)"
    )
    for r in list_rigs():
        table.add_row(r.name, str(r.cameras), r.units, r.params, r.description)
    return table


@app.command("rigs")
def rigs() -> None:
    """List camera rigs for --rig: name, camera count, parameters, description.

    A rig spec is NAME[:KEY=VALUE,...], a rig .toml, or a camera file (e.g. SynCamMaster camera_extrinsics.json).

    Example: shotsmith rigs
    """
    console.print(rigs_table())


@app.command("render-guidance-rig")
def render_guidance_rig(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    rig: str = typer.Option(..., "--rig", help="Rig spec (`shotsmith rigs`), e.g. ring:n=4,radius=0.3."),
    backend: str = typer.Option("auto", "--backend", help="Point renderer: auto, numba, torch or reference."),
    footprint: str = typer.Option("square", "--footprint", help="Splat footprint: square or round."),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Render every camera of a rig from the workspace's cache into guidance/cams/NN/.

    Example: shotsmith render-guidance-rig -w shots/x --rig hemi36:dist=4,elev=15
    """
    from shotsmith.stages.render_guidance import GuidanceOptions
    from shotsmith.stages.rig import RigRenderOptions
    from shotsmith.stages.rig import render_guidance_rig as run

    ws = Workspace(workspace)
    rec = run(
        ws,
        RigRenderOptions(rig=rig, guidance=GuidanceOptions(backend=backend, footprint=footprint)),
        force=force,
    )
    extra = rec.extra
    if not extra.get("skipped"):
        w, h = extra.get("size", [0, 0])
        info(
            f"rig guidance: {extra.get('cameras')} cameras x {extra.get('frames')} frames at {w}x{h}, rendered in "
            f"{extra.get('render_seconds', 0):.2f} s ({rec.backend}) -> {ws.path('guidance/cams')}"
        )


@app.command("generate-rig")
def generate_rig(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    generator: str = typer.Option("auto", "--generator", help="auto, inpaint, wan or cogvideox."),
    model: str | None = typer.Option(None, "--model", help="Generator weights: hub id or folder."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same for every view)."),
    steps: int = typer.Option(30, "--steps", help="Denoising steps (neural generators)."),
    grid_width: int = typer.Option(1280, "--grid-width", help="Largest width of output/grid.mp4."),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Generate every camera of the rig rendered by render-guidance-rig: output/cams/NN.mp4 and output/grid.mp4.

    Example: shotsmith generate-rig -w shots/x --generator inpaint
    """
    from shotsmith.stages.rig import RigGenerateOptions
    from shotsmith.stages.rig import generate_rig as run

    ws = Workspace(workspace)
    opts = RigGenerateOptions(
        generator=generator, model=model, seed=seed, steps=steps, grid_max_width=grid_width
    )
    rec = run(ws, opts, force=force)
    if not rec.extra.get("skipped"):
        info(
            f"rig output: {rec.extra.get('cameras')} cameras ({rec.backend}) -> {ws.path(OUTPUT_CAMS)}, "
            f"{ws.path(OUTPUT_GRID)}"
        )
    typer.echo(str(ws.path(OUTPUT_GRID)))
