"""`shotsmith generate`: fill the guidance into the final video (output/shot.mp4)."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import info


@app.command("generate")
def generate(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    generator: str = typer.Option(
        "auto", "--generator", help="auto, inpaint (embedded, CPU), wan or cogvideox (video models)."
    ),
    model: str = typer.Option(None, "--model", help="Hub id or local folder of the video model."),
    steps: int = typer.Option(None, "--steps", help="Denoising steps (video models)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same video."),
    strength: float = typer.Option(
        None, "--strength", help="How far a video model may depart from the guidance (0..1)."
    ),
    guidance_scale: float = typer.Option(None, "--guidance-scale", help="Classifier-free guidance scale."),
    dtype: str = typer.Option(None, "--dtype", help="Model dtype: float32, float16 or bfloat16."),
    device: str = typer.Option(None, "--device", help="Torch device: cpu, cuda, cuda:1..."),
    offload: bool = typer.Option(
        False, "--offload", help="Offload model parts to the CPU (low-memory GPUs)."
    ),
    prompt: str = typer.Option(None, "--prompt", help="Text for the generator instead of caption.json's."),
    rig: str = typer.Option(
        None, "--rig", help="Generate every camera of a rig (renders its guidance first when needed)."
    ),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Turn guidance/ into output/shot.mp4 with a generator (auto prints its choice).

    Example: shotsmith generate -w shots/x --generator inpaint
    """
    from shotsmith.stages.generate import GenerateConfig, run
    from shotsmith.workspace import OUTPUT_VIDEO, Workspace

    cfg = GenerateConfig(
        generator=generator,
        model=model,
        steps=steps,
        seed=seed,
        strength=strength,
        guidance_scale=guidance_scale,
        dtype=dtype,
        device=device,
        offload=offload,
        prompt=prompt,
    )
    ws = Workspace(workspace)
    if rig:
        from shotsmith.stages.rig import (
            RigGenerateOptions,
            RigRenderOptions,
            generate_rig,
            render_guidance_rig,
        )
        from shotsmith.workspace import OUTPUT_GRID

        render_guidance_rig(ws, RigRenderOptions(rig=rig), force=False)  # skipped when unchanged
        neural = {"model": model, "steps": steps, "strength": strength, "guidance_scale": guidance_scale}
        options = RigGenerateOptions(
            generator=generator, seed=seed, **{k: v for k, v in neural.items() if v is not None}
        )
        generate_rig(ws, options, force=force)
        typer.echo(str(ws.path(OUTPUT_GRID)))
        return
    rec = run(ws, cfg, force=force)
    extra = rec.extra
    if not extra.get("skipped"):
        w, h = extra.get("size", [0, 0])
        line = f"generate: {extra.get('frames', 0)} frames at {w}x{h} in {rec.seconds:.2f} s ({rec.backend})"
        ti = extra.get("temporal_instability")
        if ti is not None:
            line += f", {100 * extra.get('fill_fraction', 0):.1f}% filled, temporal instability {ti:.2f}"
        info(line)
    info(str(ws.path(OUTPUT_VIDEO)))
