"""`shotsmith insert-object`: put a 3D object into the scene and keep it there."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import info
from shotsmith.errors import InputError
from shotsmith.workspace import Workspace


def parse_numbers(text: str | None, count: int, option: str) -> tuple[float, ...] | None:
    """ "400,300" -> (400.0, 300.0), with a one-line error naming the option."""
    if text is None:
        return None
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != count:
        example = ",".join(["400", "300", "2"][:count])
        raise InputError(
            f"{option} {text!r}: expected {count} comma-separated numbers, e.g. {option} {example}"
        )
    return values


@app.command("insert-object")
def insert_object(
    object_file: Path | None = typer.Argument(
        None, help="Mesh (.obj .glb .gltf .ply .stl) or point cloud (.ply)."
    ),
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    name: str | None = typer.Option(None, "--name", help="Object name (default: file stem)."),
    at_pixel: str | None = typer.Option(
        None, "--at-pixel", help="U,V: stand on the surface seen at this pixel."
    ),
    at: str | None = typer.Option(None, "--at", help="X,Y,Z anchor in scene units."),
    anchor: str = typer.Option("bottom", "--anchor", help="bottom or center."),
    height: float | None = typer.Option(None, "--height", help="Object height in scene units."),
    scale: float | None = typer.Option(None, "--scale", help="Uniform scale (instead of --height)."),
    yaw: float = typer.Option(0.0, "--yaw", help="Degrees about the up axis."),
    pitch: float = typer.Option(0.0, "--pitch", help="Degrees."),
    roll: float = typer.Option(0.0, "--roll", help="Degrees."),
    upright: bool = typer.Option(False, "--upright", help="Stand along the scene's gravity (ground plane)."),
    object_up: str = typer.Option("y", "--object-up", help="The file's up axis: y or z."),
    mode: str = typer.Option(
        "layered", "--mode", help="fused (merged into the scene) or layered (own mask)."
    ),
    remove: str | None = typer.Option(None, "--remove", help="Remove the object of this name."),
    reapply: bool = typer.Option(False, "--reapply", help="Rebuild all objects from objects.json."),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Place a mesh or point cloud in the scene cache.

    Example: shotsmith insert-object -w shots/x assets/cone.ply --at-pixel 256,400 --height 0.3
    """
    from shotsmith.stages.insert_object import InsertConfig, run

    cfg = InsertConfig(
        object_path=str(object_file) if object_file else None,
        name=name,
        at_pixel=parse_numbers(at_pixel, 2, "--at-pixel"),
        at=parse_numbers(at, 3, "--at"),
        anchor=anchor,
        height=height,
        scale=scale,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        upright=upright,
        up_axis=object_up,
        mode=mode,
        remove=remove,
        reapply=reapply,
    )
    rec = run(Workspace(workspace), cfg, force=force)
    info(f"insert-object: {rec.extra}")
