"""`shotsmith convert`: camera files from one format to another (thin wrapper over `shotsmith.formats`)."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import console
from shotsmith.formats import (
    FORMATS,
    detect_format,
    guess_output_format,
    read_camera_file,
    read_camera_rig,
    resolve_format,
    write_camera_file,
)


@app.command()
def convert(
    src: Path = typer.Argument(
        ..., metavar="IN", help="Camera file or COLMAP folder; its format is detected from content."
    ),
    dst: Path = typer.Argument(..., metavar="OUT", help="File (or COLMAP folder) to write."),
    to: str | None = typer.Option(
        None, "--to", help=f"Output format: {', '.join(FORMATS)} (default: from OUT's name)."
    ),
    from_: str | None = typer.Option(None, "--from", help="Input format, when detection is not wanted."),
    camera: str | None = typer.Option(
        None, "--camera", help="Camera of a multi-camera file: 5, 05 or cam05."
    ),
    width: int | None = typer.Option(None, "--width", help="Image width in pixels (files without one: 832)."),
    height: int | None = typer.Option(
        None, "--height", help="Image height in pixels (files without one: 480)."
    ),
    fps: float | None = typer.Option(None, "--fps", help="Frames per second (files without one: 16)."),
    ue_scale: float | None = typer.Option(
        None, "--ue-scale", help="Unreal cm per unit: 100 ReCamMaster, 200 SynCamMaster."
    ),
) -> None:
    """Convert a camera path between formats (trajectory.json, nerfstudio, RealEstate10K, GEN3C, Unreal, COLMAP).

    Example: shotsmith convert camera_extrinsics.json cam05.json --camera 5
    """
    in_fmt = resolve_format(from_)[0] if from_ else detect_format(src)
    out_fmt = resolve_format(to)[0] if to else guess_output_format(dst)
    options = {"width": width, "height": height, "fps": fps, "ue_scale": ue_scale}
    if in_fmt == "ue" and out_fmt == "ue" and camera is None:
        rig = read_camera_rig(src, from_ or in_fmt, relative=False, **options)  # UE to UE keeps the UE world
        write_camera_file(dst, rig, to or out_fmt, ue_scale=ue_scale)
        frames = len(next(iter(rig.values())))
        console.print(
            f"{src} ({in_fmt}, {len(rig)} cameras x {frames} frames) -> {dst} ({out_fmt})",
            markup=False,
            soft_wrap=True,
        )
        return
    cam = read_camera_file(src, from_ or in_fmt, camera=camera, **options)
    write_camera_file(dst, cam, to or out_fmt, ue_scale=ue_scale)
    console.print(
        f"{src} ({in_fmt}, {len(cam)} frames, {cam.width}x{cam.height} @ {cam.fps:g} fps) -> {dst} ({out_fmt})",
        markup=False,
        soft_wrap=True,
    )
