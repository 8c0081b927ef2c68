"""The generated commands: one per stage of the registry, plus `run`, `recapture` and `plan`.

Each command's options are its config's fields (`shotsmith.cli.build`); its body only builds the workspace,
calls `stage.execute` (or the pipeline) and prints what the stage's `report` says. `render-guidance-rig` and
`generate-rig` are thin aliases of `render-guidance --rig` and `generate --rig`.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from shotsmith.cli.build import config_command, force_param, workspace_param
from shotsmith.console import console
from shotsmith.stage import Stage, execute
from shotsmith.workspace import OUTPUT_GRID, OUTPUT_VIDEO, TRAJECTORY, Workspace, atomic_path


def _stage_action(stage: Stage):
    def action(cfg, workspace, force) -> None:
        ws = Workspace(workspace)
        rec = execute(ws, stage, cfg, force=force)
        line = stage.report(ws, rec) if stage.report is not None else None
        if line:
            console.print(line, markup=False, soft_wrap=True)
        if stage.name == "generate":
            typer.echo(str(ws.path(OUTPUT_GRID if cfg.rig else OUTPUT_VIDEO)))

    return action


def _evaluate_action(stage: Stage):
    inner = _stage_action(stage)

    def action(cfg, workspace, force) -> None:
        from shotsmith.stages.evaluate import run_standalone

        if workspace is not None:
            inner(cfg, workspace, force)
            return
        typer.echo(str(run_standalone(cfg)))

    return action


def _rendered_rig(action):
    def with_rig(cfg, workspace, force) -> None:
        from dataclasses import replace

        from shotsmith.artifacts import read_rig_json

        if not cfg.rig:
            cfg = replace(cfg, rig=read_rig_json(Workspace(workspace))["spec"])
        action(cfg, workspace, force)

    return with_rig


def register_stages(app: typer.Typer) -> None:
    """One command per registered stage, and the rig aliases."""
    from shotsmith.stages import STAGES

    for stage in STAGES:
        is_eval = stage.name == "evaluate"
        action = _evaluate_action(stage) if is_eval else _stage_action(stage)
        extra = [workspace_param(required=not is_eval), force_param()]
        config_command(
            app, stage.name, stage.config, action, summary=stage.summary, examples=stage.examples, extra=extra
        )
        if stage.name == "render-guidance":
            config_command(
                app,
                "render-guidance-rig",
                stage.config,
                action,
                summary="The same as `render-guidance --rig RIG` (kept for scripts).",
                extra=[workspace_param(), force_param()],
                required=("rig",),
            )
        if stage.name == "generate":
            config_command(
                app,
                "generate-rig",
                stage.config,
                _rendered_rig(action),
                summary="The same as `generate --rig RIG`; without --rig, the rig that render-guidance rendered.",
                extra=[workspace_param(), force_param()],
            )


# ---------------------------------------------------------------------------------------------------------------
# run, recapture, plan


def _run_action(cfg, force) -> None:
    from shotsmith.pipeline import print_summary, run_shot

    ws, lines = run_shot(cfg, force=force)
    print_summary(ws, lines)
    typer.echo(str(ws.path(OUTPUT_GRID if cfg.rig else OUTPUT_VIDEO)))


def _recapture_action(cfg, force) -> None:
    from shotsmith.pipeline import print_summary, recapture

    ws, lines = recapture(cfg, force=force)
    print_summary(ws, lines)
    typer.echo(str(ws.path(OUTPUT_GRID if cfg.rig else OUTPUT_VIDEO)))


def _plan_action(cfg, text, output) -> None:
    from dataclasses import replace

    from shotsmith.errors import InputError
    from shotsmith.plot import PlotInBackground

    json_path = Path(output)
    png_path = json_path.with_suffix(".png")
    html_path = json_path.with_suffix(".html")
    if json_path.is_dir():
        raise InputError(f"-o {json_path}: is a folder; give a file name, e.g. -o {json_path / TRAJECTORY}")
    # the plot's child process imports matplotlib while this one imports scipy and makes the path
    with PlotInBackground() as plot:
        from shotsmith.formats import write_trajectory
        from shotsmith.stages.plan_trajectory import make_path, place_imported
        from shotsmith.viewer.static import write_trajectory_html

        if text is not None:
            cfg = replace(cfg, camera=text)
        cam, note = place_imported(make_path(cfg), cfg, None, need_units=False)
        with (
            atomic_path(json_path, InputError) as tmp_json,
            atomic_path(png_path, InputError) as tmp_png,
            atomic_path(html_path, InputError) as tmp_html,
        ):
            plot.draw(cam, tmp_png)
            write_trajectory(tmp_json, cam)
            write_trajectory_html(tmp_html, cam)
            plot.wait()
    summary = f"{len(cam)} frames, {cam.fps:g} fps, {cam.width}x{cam.height}, {cam.meta.get('units', 'scene')} units"
    console.print(f"wrote {json_path}, {png_path} and {html_path} ({summary})", markup=False, soft_wrap=True)
    if note:
        console.print(f"{cfg.trajectory or cfg.cam}: {note}", markup=False, soft_wrap=True)


def register_pipeline(app: typer.Typer) -> None:
    from shotsmith.pipeline import RecaptureConfig, RunConfig
    from shotsmith.stages.plan_trajectory import Config as PlanConfig

    config_command(
        app,
        "run",
        RunConfig,
        _run_action,
        summary="Make a camera-directed shot from a photo: plan, 3D cache, guidance, generation.",
        examples=('shotsmith run "a cat on a sofa, slow dolly in then pan left" --image cat.png',),
        extra=[force_param()],
    )
    config_command(
        app,
        "recapture",
        RecaptureConfig,
        _recapture_action,
        summary="Re-shoot VIDEO along a new camera path through a 4D cache; prints the output video's path last.",
        examples=(
            "shotsmith recapture clip.mp4 --cam pan_right",
            "shotsmith recapture clip.mp4 --cam 5 --frames 49 --size 832x480",
            'shotsmith recapture clip.mp4 --cam "slowly push in, then arc left" --source-camera estimate',
        ),
        extra=[force_param()],
        required=("cam",),
    )
    text = typer.Argument(None, metavar="[TEXT]", help='Director\'s words, e.g. "push in, then pan left".')
    output = typer.Option(
        TRAJECTORY, "-o", "--output", help="trajectory.json to write; the plot goes beside it."
    )
    config_command(
        app,
        "plan",
        PlanConfig,
        _plan_action,
        summary="Plan a camera path and write trajectory.json + trajectory.png (no workspace needed).",
        examples=(
            "shotsmith plan --preset dolly_in",
            'shotsmith plan --preset "static,dolly_in:0.5+pan_left:30" -o shot.json --frames 121',
            'shotsmith plan "slowly push in, then pan left" --duration 4',
        ),
        extra=[
            inspect.Parameter("text", inspect.Parameter.KEYWORD_ONLY, default=text, annotation=str | None),
            inspect.Parameter("output", inspect.Parameter.KEYWORD_ONLY, default=output, annotation=str),
        ],
        exclude=("target",),
    )
