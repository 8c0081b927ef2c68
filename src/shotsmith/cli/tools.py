"""Commands that are tools, not stages: presets, rigs, describe, convert, status (hand-written typer commands).

The stage commands, `run`, `recapture` and `plan` are generated from their configs (`shotsmith.cli.commands`).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from shotsmith.cli.app import app
from shotsmith.console import console
from shotsmith.errors import WorkspaceError
from shotsmith.formats import (
    FORMATS,
    detect_format,
    guess_output_format,
    read_camera_file,
    read_camera_rig,
    resolve_format,
    write_camera_file,
)
from shotsmith.presets import list_presets
from shotsmith.workspace import SHOT, Workspace


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
        console.print(rigs_table())
        return
    table = Table("name", "what the camera does", "default amount", title="camera presets (docs/PRESETS.md)")
    for p in list_presets(include_compat=not vocabulary):
        amount = "" if p.amount is None else f"{p.amount:g} {p.unit}"
        table.add_row(p.name, p.description, amount)
    if not vocabulary:  # a path made from the workspace's own cache, not a preset file
        table.add_row(
            "through-photos",
            "visits the cameras of a several-photo cache (--image a --image b ...) on a smooth spline",
            "",
        )
    console.print(table)


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

    cam = read_camera_file(trajectory)
    if as_json:
        payload = {"caption": describer.describe(cam), "segments": describer.segments(cam)}
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(describer.describe(cam))


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


@app.command()
def status(workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder.")) -> None:
    """Show each stage of a workspace: done, stale or missing.

    Example: shotsmith status -w shots/my-shot
    """
    from shotsmith.stages import STAGES

    ws = Workspace(workspace)
    if not ws.path(SHOT).exists():
        raise WorkspaceError(f"{workspace}: not a shotsmith workspace (no {SHOT}); run `shotsmith run` first")
    table = Table("stage", "state", "backend", "seconds", "finished")
    colors = {"done": "green", "stale": "yellow", "missing": "dim"}
    recorded = ws.manifest()["stages"]
    names = [s.name for s in STAGES] + [r for s in STAGES for r in s.records if r in recorded]
    for stage in names:
        state = ws.stage_state(stage)
        rec = ws.record(stage)
        table.add_row(
            stage,
            f"[{colors[state]}]{state}[/{colors[state]}]",
            rec.backend if rec else "",
            f"{rec.seconds:.2f}" if rec else "",
            rec.finished if rec else "",
        )
    console.print(table)


# ---------------------------------------------------------------------------------------------------------------
# models

models_app = typer.Typer(
    help="The models shotsmith knows: list them, download one (`pull`), or print its folder (`path`).",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(models_app, name="models")

_CACHE_DIR = typer.Option(None, "--cache-dir", help="Hugging Face cache folder (default: HF_HOME's).")
_MODEL_NAME = typer.Argument(..., help="A name from `shotsmith models` or a hub id (org/name).")


@models_app.callback(invoke_without_command=True)
def models_list(ctx: typer.Context, cache_dir: str | None = _CACHE_DIR) -> None:
    """List the models shotsmith knows: name, hub id, task, size, licence, and whether it is on this machine.

    Example: shotsmith models
    """
    if ctx.invoked_subcommand is not None:
        return
    from shotsmith.models import KNOWN, local_path

    table = Table(title="models (docs/MODELS.md)")
    for col in ("name", "hub id", "task", "size", "licence", "on this machine"):
        table.add_column(col, overflow="fold")
    for m in KNOWN:
        where = local_path(m, cache_dir)
        table.add_row(m.name, m.hub_id, m.task, f"{m.size_gb:g} GB", m.licence, str(where or "no"))
    console.print(table)


@models_app.command("pull")
def models_pull(
    name: str = _MODEL_NAME,
    cache_dir: str | None = _CACHE_DIR,
) -> None:
    """Download a model's safetensors and configs (resumable, with a progress bar); prints its folder.

    Example: shotsmith models pull depth-anything-v2-small
    """
    from shotsmith.models import find, pull

    typer.echo(str(pull(find(name), cache_dir)))


@models_app.command("path")
def models_path(
    name: str = _MODEL_NAME,
    cache_dir: str | None = _CACHE_DIR,
) -> None:
    """Print the folder of a model on this machine (pass it to --model / --depth-model).

    Example: shotsmith models path depth-anything-v2-small
    """
    from shotsmith.models import find, local_path

    model = find(name)
    where = local_path(model, cache_dir)
    if where is None:
        raise WorkspaceError(
            f"model {model.name} ({model.hub_id}) is not on this machine; run `shotsmith models pull {model.name}`"
        )
    typer.echo(str(where))


# ---------------------------------------------------------------------------------------------------------------
# batch


@app.command("batch")
def batch(
    jobs: Path = typer.Argument(
        ..., metavar="JOBS", help="Jobs file: JSON Lines (.jsonl), CSV (.csv) or TOML (.toml); docs/BATCH.md."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Batch folder: one workspace per job (DIR/<name>) and DIR/batch.csv."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Embedded workers (default: one per core, bounded by jobs and memory; video models: one per GPU); "
        "0 runs the jobs in this process. With --ray: CPUs of a local Ray.",
    ),
    ray: str | None = typer.Option(
        None, "--ray", metavar="ADDRESS|local", help="Run on a Ray cluster (needs shotsmith[distributed])."
    ),
    evaluate: bool = typer.Option(
        False, "--evaluate", help="Evaluate every run job; its numbers go in batch.csv."
    ),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="Also write the shots as a ReCamMaster-style dataset in this folder."
    ),
    dataset_style: str = typer.Option(
        "recammaster", "--dataset-style", help="recammaster (100 cm per unit) or syncammaster (200)."
    ),
    force: bool = typer.Option(False, "--force", help="Rerun every stage of every job."),
    check: bool = typer.Option(False, "--check", help="Only validate the jobs file."),
) -> None:
    """Run many shots from a jobs file, one workspace each, resumable; writes DIR/batch.csv (printed last).

    Example: shotsmith batch jobs.jsonl -o shots/batch --evaluate
    """
    from shotsmith.batch import batch_command

    runner = None
    if ray is not None:
        from shotsmith.distributed import RayRunner

        runner = RayRunner(ray, num_cpus=workers or None)
    code = batch_command(
        jobs,
        output,
        workers=workers,
        runner=runner,
        evaluate=evaluate,
        dataset=dataset,
        dataset_style=dataset_style,
        force=force,
        check=check,
    )
    if code:
        raise typer.Exit(code)


# view


@app.command()
def view(
    photo: Path | None = typer.Argument(
        None, help="A photo: make its workspace and 3D cache first (default workspace shots/<photo>/)."
    ),
    workspace: Path | None = typer.Option(None, "-w", "--workspace", help="Workspace folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0: every interface)."),
    port: int = typer.Option(8080, "--port", help="Port (a busy one: the next free port, printed)."),
    depth: str = typer.Option(
        "auto", "--depth", help="Depth backend for a new photo's cache (auto, prior...)."
    ),
    max_points: int = typer.Option(
        200_000, "--max-points", help="Cloud points sent to the browser (software WebGL: 50000 draws faster)."
    ),
) -> None:
    """Open a workspace in a local web viewer: the point cloud, the path, presets, words, keyframes, objects,
    rigs, preview and "Render shot". Needs the viewer extra: pip install "shotsmith[viewer]".

    Example: shotsmith view photo.jpg
    """
    from shotsmith.errors import BackendUnavailable
    from shotsmith.viewer import require_viser

    try:
        require_viser()  # before any work: without the extra, say how to get it
    except BackendUnavailable as exc:  # printed here without markup: "[viewer]" is no rich tag
        console.print(f"error: {exc}", markup=False, soft_wrap=True, style="red")
        raise typer.Exit(1) from None
    from shotsmith.viewer.server import prepare_workspace, serve

    if photo is None and workspace is None:
        raise WorkspaceError(
            "give a photo (shotsmith view photo.jpg) or a workspace (shotsmith view -w shots/x)"
        )
    if photo is not None:
        if not photo.is_file():
            raise WorkspaceError(f"{photo}: no such photo; check the path")
        ws = prepare_workspace(photo, workspace, depth=depth)
    else:
        ws = Workspace(workspace)
        if not ws.root.is_dir():
            raise WorkspaceError(
                f"{workspace}: no such workspace; start one with `shotsmith view PHOTO -w {workspace}`"
            )
    if max_points < 1:
        raise WorkspaceError(f"--max-points {max_points}: give at least 1")
    serve(ws, host=host, port=port, max_points=max_points)
