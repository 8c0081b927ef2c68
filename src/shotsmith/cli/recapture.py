"""`shotsmith recapture`: re-shoot a video along a new camera path (thin wrapper over the recapture stage)."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import info


@app.command("recapture")
def recapture(
    video: Path = typer.Argument(..., help="The source video (mp4, mov, mkv, webm...)."),
    cam: str = typer.Option(
        ...,
        "--cam",
        help='Target camera: a preset (pan_right), ReCamMaster number 1-10, a camera file, or "TEXT".',
    ),
    workspace: Path | None = typer.Option(
        None, "-w", "--workspace", help="Workspace folder (default shots/<video>-<cam>/)."
    ),
    frames: int | None = typer.Option(
        None, "--frames", help="Shot length in frames (default 81, or the video's)."
    ),
    size: str = typer.Option("832x480", "--size", help="Shot size WIDTHxHEIGHT, even numbers."),
    fps: float | None = typer.Option(None, "--fps", help="Shot frame rate (default: the source's)."),
    fit: str = typer.Option("crop", "--fit", help="crop (centre crop, as ReCamMaster) or pad (letterbox)."),
    short: str = typer.Option("error", "--short", help="Video shorter than --frames: pad, loop or error."),
    source_camera: str = typer.Option(
        "static", "--source-camera", help="static (tripod), estimate (pycolmap), or a camera file."
    ),
    depth: str = typer.Option(
        "auto", "--depth", help="Depth backend, or a per-frame depth file (T, H, W) .npz/.npy."
    ),
    model: str | None = typer.Option(None, "--model", help="Hub id or folder of the depth model's weights."),
    fov: float | None = typer.Option(None, "--fov", help="Source horizontal field of view in degrees."),
    generator: str = typer.Option("auto", "--generator", help="Generator: auto, inpaint, wan, cogvideox."),
    target: str = typer.Option(
        "first", "--target", help="first: path relative to the source's first frame; follow: rides with it."
    ),
    other_frames: int = typer.Option(
        8, "--other-frames", help="Other source frames that may fill each frame."
    ),
    prompt: str = typer.Option("", "--prompt", help="Text for text-conditioned generators."),
    rig: str = typer.Option(
        None,
        "--rig",
        help="Also re-shoot through every camera of a rig (`shotsmith rigs`): output/cams, grid.",
    ),
    force: bool = typer.Option(False, "--force", help="Rerun every part even if nothing changed."),
) -> None:
    """Re-shoot VIDEO along a new camera path through a 4D cache; prints the output video's path last.

    Example: shotsmith recapture clip.mp4 --cam pan_right
    Example: shotsmith recapture clip.mp4 --cam 5 --frames 49 --size 832x480
    Example: shotsmith recapture clip.mp4 --cam "slowly push in, then arc left" --source-camera estimate
    """
    from shotsmith.presets import parse_size
    from shotsmith.stages.recapture import RecaptureOptions, default_workspace
    from shotsmith.stages.recapture import recapture as run
    from shotsmith.workspace import Workspace

    width, height = parse_size(size)
    opts = RecaptureOptions(
        video=str(video),
        cam=cam,
        frames=frames,
        width=width,
        height=height,
        fps=fps,
        fit=fit,
        short=short,
        source_camera=source_camera,
        depth=depth,
        model=model,
        fov=fov,
        generator=generator,
        target=target,
        other_frames=other_frames,
        prompt=prompt,
    )
    if rig:
        from shotsmith.rigs import load_rig

        load_rig(rig)  # a bad rig fails before anything is written
    ws = Workspace(workspace if workspace is not None else default_workspace(video, cam))
    result = run(ws, opts, force=force)
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    info(f"recapture: {ws.root} ({parts})")
    if rig:
        from shotsmith.stages.rig import (
            RigGenerateOptions,
            RigRenderOptions,
            generate_rig,
            render_guidance_rig,
        )
        from shotsmith.workspace import OUTPUT_GRID

        # The rig's cameras ride the same target path, rendered from the same 4D cache.
        render_guidance_rig(ws, RigRenderOptions(rig=rig), force=force)
        generate_rig(ws, RigGenerateOptions(generator=generator), force=force)
        print(ws.path(OUTPUT_GRID))
        return
    print(result.output)
