"""`shotsmith run`: the whole shot from a photo and words."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.cli.objects import parse_numbers
from shotsmith.errors import InputError


def _size(size: str | None) -> tuple[int | None, int | None]:
    if size is None:
        return None, None
    from shotsmith.presets import parse_size

    return parse_size(size)


@app.command()
def run(
    prompt: str = typer.Argument(..., help="What the shot shows; camera words in it are planned too."),
    image: Path = typer.Option(..., "--image", "-i", help="The source photo."),
    cam: str | None = typer.Option(None, "--cam", help="Camera preset spec, e.g. dolly_in+pan_left."),
    camera: str | None = typer.Option(None, "--camera", help='Camera in words: "push in, then tilt up".'),
    trajectory: Path | None = typer.Option(None, "--trajectory", help="A camera file (any format)."),
    workspace: Path | None = typer.Option(
        None, "-w", "--workspace", help="Workspace (default shots/<slug>/)."
    ),
    frames: int | None = typer.Option(None, "--frames", help="Frame count (default 81)."),
    fps: float | None = typer.Option(None, "--fps", help="Frames per second (default 16)."),
    size: str | None = typer.Option(None, "--size", help="WxH (default 832x480)."),
    duration: float | None = typer.Option(None, "--duration", help="Seconds (instead of --frames)."),
    amount: float | None = typer.Option(None, "--amount", help="Amount of a single preset."),
    ease: str | None = typer.Option(None, "--ease", help="Speed curve: linear, ease_in, ease_out, ..."),
    depth: str = typer.Option(
        "auto", "--depth", help="auto, prior, depth-anything-v2, moge or a depth file."
    ),
    depth_model: str | None = typer.Option(None, "--depth-model", help="Depth weights: hub id or folder."),
    fov: float | None = typer.Option(None, "--fov", help="Horizontal field of view of the photo, degrees."),
    generator: str = typer.Option("auto", "--generator", help="auto, inpaint, wan or cogvideox."),
    model: str | None = typer.Option(None, "--model", help="Generator weights: hub id or folder."),
    steps: int | None = typer.Option(None, "--steps", help="Denoising steps (neural generators)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    strength: float | None = typer.Option(None, "--strength", help="Denoising strength (neural generators)."),
    guidance_scale: float | None = typer.Option(None, "--guidance-scale", help="Text guidance (neural)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32, bfloat16 or float16 (neural)."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or auto (neural)."),
    offload: bool = typer.Option(False, "--offload", help="Model CPU offload (neural, on cuda)."),
    objects: list[Path] = typer.Option([], "--object", help="Mesh or point cloud to insert (repeatable)."),
    at_pixel: list[str] = typer.Option([], "--at-pixel", help="U,V where each --object stands."),
    object_height: list[float] = typer.Option([], "--object-height", help="Height of each object."),
    object_mode: str = typer.Option("layered", "--object-mode", help="fused or layered."),
    rig: str | None = typer.Option(
        None, "--rig", help="Camera rig (`shotsmith rigs`): one video per camera + output/grid.mp4."
    ),
    evaluate: bool = typer.Option(False, "--evaluate", help="Also measure the result's camera."),
    force: bool = typer.Option(False, "--force", help="Rerun every stage."),
) -> None:
    """Make a camera-directed shot from a photo: plan, 3D cache, guidance, generation.

    Example: shotsmith run "a cat on a sofa, slow dolly in then pan left" --image cat.png
    """
    from shotsmith.pipeline import ObjectSpec, RunConfig, print_summary, run_shot

    if len(at_pixel) not in (0, len(objects)) or (at_pixel and not objects):
        raise InputError(
            f"give one --at-pixel per --object (got {len(objects)} objects, {len(at_pixel)} pixels)"
        )
    if object_height and len(object_height) != len(objects):
        raise InputError(f"give one --object-height per --object or none (got {len(object_height)})")
    specs = [
        ObjectSpec(
            path=str(obj),
            at_pixel=parse_numbers(at_pixel[i], 2, "--at-pixel") if at_pixel else None,
            height=object_height[i] if object_height else None,
            mode=object_mode,
        )
        for i, obj in enumerate(objects)
    ]
    width, height = _size(size)
    cfg = RunConfig(
        prompt=prompt,
        image=str(image),
        cam=cam,
        camera=camera,
        trajectory=str(trajectory) if trajectory else None,
        workspace=str(workspace) if workspace else None,
        frames=frames,
        fps=fps,
        width=width,
        height=height,
        duration=duration,
        amount=amount,
        ease=ease,
        depth=depth,
        depth_model=depth_model,
        fov=fov,
        generator=generator,
        model=model,
        steps=steps,
        seed=seed,
        strength=strength,
        guidance_scale=guidance_scale,
        dtype=dtype,
        device=device,
        offload=offload,
        objects=specs,
        rig=rig,
        evaluate=evaluate,
        force=force,
    )
    ws, lines = run_shot(cfg)
    print_summary(ws, lines)
    from shotsmith.workspace import OUTPUT_GRID, OUTPUT_VIDEO

    typer.echo(str(ws.path(OUTPUT_GRID if rig else OUTPUT_VIDEO)))
