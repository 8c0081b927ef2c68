"""`shotsmith describe TRAJECTORY`: a GenDoP-style motion caption of any camera file `convert` reads."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shotsmith.cli import app


@app.command()
def describe(
    trajectory: Path = typer.Argument(
        ..., help="Camera file (trajectory.json, RealEstate10K txt, GEN3C npz...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the labelled segments as JSON instead."),
) -> None:
    """Caption the camera motion of a trajectory with GenDoP's motion tags.

    Example: shotsmith describe shots/demo/trajectory.json --json
    """
    from shotsmith import describe as describer
    from shotsmith.formats import read_camera_file

    cam = read_camera_file(trajectory)
    if as_json:
        payload = {"caption": describer.describe(cam), "segments": describer.segments(cam)}
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(describer.describe(cam))
