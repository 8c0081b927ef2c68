"""`shotsmith plan`, `shotsmith presets` and `shotsmith plan-trajectory`: camera paths from presets, words or files.

Thin wrappers: options become a `PlanTrajectoryConfig` (shotsmith.stages.plan_trajectory); presets come from
`shotsmith.presets`. `--size WxH` is parsed by `shotsmith.presets.parse_size` (shared by every command).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import typer
from rich.table import Table

from shotsmith.cli import app
from shotsmith.console import console
from shotsmith.errors import InputError
from shotsmith.presets import list_presets, parse_size
from shotsmith.stages.plan_trajectory import PlanTrajectoryConfig, make_path, run, write_outputs
from shotsmith.workspace import TRAJECTORY, TRAJECTORY_PNG, Workspace

_FRAMES = typer.Option(None, "--frames", help="Frame count (default 81).")
_FPS = typer.Option(None, "--fps", help="Frames per second (default 16).")
_SIZE = typer.Option(None, "--size", help="Image size WIDTHxHEIGHT, even numbers (default 832x480).")
_AMOUNT = typer.Option(
    None, "--amount", help="Amount of a single preset in its unit (see `shotsmith presets`)."
)
_EASE = typer.Option(None, "--ease", help="Speed curve: linear, ease_in, ease_out, ease_in_out, exponential.")
_DURATION = typer.Option(None, "--duration", help="Shot length in seconds (sets the frame count from --fps).")
_LENIENT = typer.Option(False, "--lenient", help="Text plans: skip words the planner does not understand.")
_FOV = typer.Option(
    None, "--fov", help="Horizontal field of view in degrees for presets and texts (default 60)."
)


def _config(
    cam, camera, trajectory, frames, fps, size, amount, ease, duration, lenient, fov
) -> PlanTrajectoryConfig:
    width, height = parse_size(size) if size is not None else (None, None)
    cfg = PlanTrajectoryConfig(
        cam=cam,
        camera=camera,
        trajectory=None if trajectory is None else str(trajectory),
        frames=frames,
        fps=fps,
        width=width,
        height=height,
        amount=amount,
        ease=ease,
        duration=duration,
        lenient=lenient,
        hfov_deg=fov,
    )
    cfg.validate()
    return cfg


def _summary(cam) -> str:
    return f"{len(cam)} frames, {cam.fps:g} fps, {cam.width}x{cam.height}, {cam.meta.get('units', 'scene')} units"


@app.command()
def plan(
    text: str | None = typer.Argument(
        None, metavar="[TEXT]", help='Director\'s words, e.g. "push in, then pan left".'
    ),
    preset: str | None = typer.Option(
        None, "--preset", "--cam", help="Preset spec instead of words (`shotsmith presets`)."
    ),
    output: Path = typer.Option(
        Path(TRAJECTORY), "-o", "--output", help="trajectory.json to write; the plot goes beside it."
    ),
    frames: int | None = _FRAMES,
    fps: float | None = _FPS,
    size: str | None = _SIZE,
    amount: float | None = _AMOUNT,
    ease: str | None = _EASE,
    duration: float | None = _DURATION,
    lenient: bool = _LENIENT,
    fov: float | None = _FOV,
) -> None:
    """Plan a camera path and write trajectory.json + trajectory.png (no workspace needed).

    Examples:
      shotsmith plan --preset dolly_in
      shotsmith plan --preset "static,dolly_in:0.5+pan_left:30" -o shot.json --frames 121
      shotsmith plan "slowly push in, then pan left" --duration 4
    """
    cfg = _config(preset, text, None, frames, fps, size, amount, ease, duration, lenient, fov)
    cam = make_path(cfg)
    json_path = Path(output)
    png_path = json_path.with_suffix(".png")
    if json_path.is_dir():
        raise InputError(f"-o {json_path}: is a folder; give a file name, e.g. -o {json_path / TRAJECTORY}")
    tmp_json = json_path.with_name(f".{json_path.name}.tmp-{os.getpid()}.json")
    tmp_png = png_path.with_name(f".{png_path.name}.tmp-{os.getpid()}.png")
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        write_outputs(cam, tmp_json, tmp_png)
        os.replace(tmp_json, json_path)
        os.replace(tmp_png, png_path)
    except OSError as exc:
        why = (
            "part of the path is a file"
            if isinstance(exc, FileExistsError | NotADirectoryError)
            else exc.strerror
        )
        raise InputError(f"-o {json_path}: cannot write it ({why or exc}); choose another path") from exc
    finally:
        for tmp in (tmp_json, tmp_png):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    console.print(f"wrote {json_path} and {png_path} ({_summary(cam)})", markup=False, soft_wrap=True)


@app.command()
def presets(
    vocabulary: bool = typer.Option(
        False, "--vocabulary", help="Only the vocabulary, not the compatibility sets."
    ),
    rigs: bool = typer.Option(False, "--rigs", help="List camera rigs for --rig instead (`shotsmith rigs`)."),
) -> None:
    """List camera presets: name, what the camera does, default amount.

    Compose them: "dolly_in+pan_left" (at once), "static,dolly_in,pan_left" (in turn), "pan_left:30" (amount).

    Example: shotsmith presets --vocabulary
    """
    if rigs:
        from shotsmith.cli.rig import rigs_table

        console.print(rigs_table())
        return
    table = Table("name", "what the camera does", "default amount", title="camera presets (docs/PRESETS.md)")
    for p in list_presets(include_compat=not vocabulary):
        amount = "" if p.amount is None else f"{p.amount:g} {p.unit}"
        table.add_row(p.name, p.description, amount)
    console.print(table)


@app.command("plan-trajectory")
def plan_trajectory(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    cam: str | None = typer.Option(None, "--cam", help="Preset spec (`shotsmith presets`)."),
    camera: str | None = typer.Option(None, "--camera", help='Director\'s words, e.g. "orbit right slowly".'),
    trajectory: Path | None = typer.Option(None, "--trajectory", help="Camera file in any supported format."),
    frames: int | None = _FRAMES,
    fps: float | None = _FPS,
    size: str | None = _SIZE,
    amount: float | None = _AMOUNT,
    ease: str | None = _EASE,
    duration: float | None = _DURATION,
    lenient: bool = _LENIENT,
    fov: float | None = _FOV,
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Plan the workspace's camera path: trajectory.json + trajectory.png.

    Examples:
      shotsmith plan-trajectory -w shots/demo --cam dolly_in+pan_left
      shotsmith plan-trajectory -w shots/demo --camera "crane up, then orbit left"
      shotsmith plan-trajectory -w shots/demo --trajectory camera_extrinsics.json --frames 81
    """
    cfg = _config(cam, camera, trajectory, frames, fps, size, amount, ease, duration, lenient, fov)
    ws = Workspace(workspace)
    rec = run(ws, cfg, force=force)
    if not rec.extra.get("skipped"):
        console.print(
            f"wrote {ws.path(TRAJECTORY)} and {ws.path(TRAJECTORY_PNG)} "
            f"({rec.extra.get('frames')} frames, {rec.extra.get('units')} units)",
            markup=False,
            soft_wrap=True,
        )
