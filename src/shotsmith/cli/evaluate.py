"""`shotsmith evaluate` and `shotsmith caption`: thin wrappers over shotsmith.stages.evaluate / .caption."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.errors import InputError

_CLIP_MODEL = typer.Option("ViT-B-32", "--clip-model", help="open-clip model name, or a model config .json.")
_CLIP_PRETRAINED = typer.Option(
    None,
    "--clip-pretrained",
    help="CLIP weights: a local .safetensors file (or an open-clip tag already cached).",
)
_FORCE = typer.Option(False, "--force", help="Rerun even when nothing changed.")


@app.command()
def evaluate(
    video: Path | None = typer.Argument(None, help="A video to measure (without -w)."),
    workspace: Path | None = typer.Option(
        None, "-w", "--workspace", help="Workspace: output/shot.mp4 vs trajectory.json."
    ),
    trajectory: Path | None = typer.Option(
        None, "--trajectory", help="The planned camera file (with VIDEO)."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Output folder (with VIDEO; default VIDEO_eval/)."
    ),
    trials: int = typer.Option(
        1, "--trials", help="Mapper runs with different seeds; median and spread (CamI2V: 5)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail when frame counts differ instead of resampling the plan."
    ),
    mapper: str = typer.Option(
        "global", "--mapper", help="global (GLOMAP in COLMAP 4, as CamI2V) or incremental."
    ),
    max_image_size: int = typer.Option(
        640, "--max-image-size", help="Longest side for SIFT (-1 = full size)."
    ),
    max_features: int = typer.Option(4096, "--max-features", help="SIFT features per frame."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first trial."),
    prompt: str | None = typer.Option(
        None, "--prompt", help="Text for F1 vs the prompt and the CLIP text score."
    ),
    clip_model: str = _CLIP_MODEL,
    clip_pretrained: str | None = _CLIP_PRETRAINED,
    force: bool = _FORCE,
) -> None:
    """Measure a shot's camera against its plan: CamI2V's RotErr/TransErr/CamMC, aligned ATE/RPE, motion-tag F1.

    Writes metrics.json (numbers, protocol, versions, trials) and trajectory_vs_estimate.png.

    Examples:
      shotsmith evaluate -w shots/demo --trials 5
      shotsmith evaluate clip.mp4 --trajectory cams.txt -o clip_eval --strict
    """
    from shotsmith.stages.evaluate import EvaluateConfig, run, run_standalone
    from shotsmith.workspace import Workspace

    cfg = EvaluateConfig(
        trials=trials,
        strict=strict,
        mapper=mapper,
        max_image_size=max_image_size,
        max_features=max_features,
        seed=seed,
        prompt=prompt,
        clip_model=clip_model,
        clip_pretrained=clip_pretrained,
    )
    cfg.validate()
    if workspace is not None:
        if video is not None or trajectory is not None or output is not None:
            raise InputError("give either -w WORKSPACE or VIDEO --trajectory FILE [-o OUT_DIR], not both")
        run(Workspace(workspace), cfg, force=force)
        return
    if video is None or trajectory is None:
        raise InputError("give -w WORKSPACE, or a VIDEO with --trajectory FILE (the planned camera path)")
    out_dir = output if output is not None else video.with_name(f"{video.stem}_eval")
    run_standalone(video, trajectory, out_dir, cfg)
    typer.echo(str(out_dir))


@app.command()
def caption(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    prompt: str | None = typer.Option(
        None, "--prompt", help="The user's words (default: shot.json's prompt)."
    ),
    scene: str = typer.Option("auto", "--scene", help="auto (CLIP when weights are given), clip, or none."),
    clip_model: str = _CLIP_MODEL,
    clip_pretrained: str | None = _CLIP_PRETRAINED,
    top_k: int = typer.Option(3, "--top-k", help="Scene tags kept."),
    force: bool = _FORCE,
) -> None:
    """Write caption.json: the prompt, the GenDoP "Movement" of trajectory.json, CLIP scene tags, and the text.

    Examples:
      shotsmith caption -w shots/demo --prompt "an astronaut portrait"
      shotsmith caption -w shots/demo --scene clip --clip-pretrained ViT-B-32.safetensors
    """
    from shotsmith.stages.caption import CaptionConfig, run
    from shotsmith.workspace import Workspace

    cfg = CaptionConfig(
        prompt=prompt, scene=scene, clip_model=clip_model, clip_pretrained=clip_pretrained, top_k=top_k
    )
    run(Workspace(workspace), cfg, force=force)
