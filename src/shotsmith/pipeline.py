"""`shotsmith run`: chain the stages for one shot in a workspace and report what each did.

Order: build-3d-cache (so the plan can look through the source camera's intrinsics), plan-trajectory,
caption (its motion caption describes the plan), insert-object for each `--object`, render-guidance, generate,
and optionally evaluate. Every stage skips itself when its inputs, options and backend did not change.
This module holds no stage logic; it only builds each stage's config from the run's options.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from shotsmith import workspace as W
from shotsmith.console import console, info, note
from shotsmith.errors import InputError, PlanError


@dataclass
class ObjectSpec:
    """One `--object` with its placement."""

    path: str
    """Mesh or point cloud file."""
    at_pixel: tuple[float, float] | None = None
    at: tuple[float, float, float] | None = None
    height: float | None = None
    mode: str = "layered"


@dataclass
class RunConfig:
    """Options of `shotsmith run` (DESIGN.md section 2)."""

    prompt: str
    """What the shot shows, and possibly how the camera moves ("a cat on a sofa, slow dolly in")."""
    image: str
    """The source photo."""
    cam: str | None = None
    """Preset spec; else `camera`; else `trajectory`; else the camera words of `prompt`."""
    camera: str | None = None
    """Director's words for the camera."""
    trajectory: str | None = None
    """A camera file in any format `shotsmith convert` reads."""
    workspace: str | None = None
    """Workspace folder (default shots/<slug-of-prompt>/)."""
    frames: int | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    amount: float | None = None
    ease: str | None = None
    depth: str = "auto"
    """Depth backend or a depth file."""
    depth_model: str | None = None
    fov: float | None = None
    generator: str = "auto"
    model: str | None = None
    """Generator weights: hub id or local folder."""
    steps: int | None = None
    seed: int = 0
    strength: float | None = None
    guidance_scale: float | None = None
    dtype: str | None = None
    device: str | None = None
    offload: bool = False
    objects: list[ObjectSpec] = field(default_factory=list)
    rig: str | None = None
    """Camera rig (`shotsmith rigs`): one video per camera plus output/grid.mp4."""
    evaluate: bool = False
    """Also run `evaluate` on the result."""
    force: bool = False


def slugify(text: str, max_len: int = 48) -> str:
    """A folder-safe slug of a prompt: "A cat, slow dolly!" -> "a-cat-slow-dolly"."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:max_len].rstrip("-")) or "shot"


def default_workspace(prompt: str) -> Path:
    return Path("shots") / slugify(prompt)


@dataclass
class StageLine:
    stage: str
    status: str
    backend: str
    seconds: float


def _line(rec: W.StageRecord, seconds: float) -> StageLine:
    skipped = bool(rec.extra.get("skipped")) if isinstance(rec.extra, dict) else False
    return StageLine(rec.stage, "skipped" if skipped else "ran", rec.backend, seconds)


def _fit_to_generator(cfg: RunConfig) -> tuple[int | None, int | None, int | None]:
    """Frames and size adjusted to the generator's constraints (with a note), or unchanged."""
    from shotsmith.backends.generate import resolve_generator

    gen, _ = resolve_generator(cfg.generator, **({"model": cfg.model} if cfg.model else {}))
    c = gen.constraints
    frames, width, height = cfg.frames, cfg.width, cfg.height
    n = frames or 81
    fitted = c.fit_frames(n)
    if fitted != n:
        note(f"generator {gen.name} needs {c.frame_rule} frames: planning {fitted} frames instead of {n}")
        frames = fitted
    if c.size is not None and (width, height) != c.size:
        w, h = width or 832, height or 480
        if (w, h) != c.size:
            note(f"generator {gen.name} needs {c.size[0]}x{c.size[1]}: using it instead of {w}x{h}")
            width, height = c.size
    return frames, width, height


def run_shot(cfg: RunConfig) -> tuple[W.Workspace, list[StageLine]]:
    """Run every stage of a shot; returns the workspace and one line per stage."""
    from shotsmith.media import read_image
    from shotsmith.stages import build_cache, caption, plan_trajectory

    image = Path(cfg.image)
    rgb = read_image(image)  # a bad image fails before anything is written
    build_cache.check_cache_size(image, rgb.shape[1], rgb.shape[0])
    del rgb
    for obj in cfg.objects:
        if not Path(obj.path).exists():
            raise InputError(f"--object {obj.path}: no such file; check the path")
        if obj.at_pixel is None and obj.at is None:
            raise InputError(f"--object {obj.path}: say where with --at-pixel U,V (or --at X,Y,Z)")
    if cfg.rig:
        from shotsmith.rigs import load_rig

        load_rig(cfg.rig)  # a bad rig fails before anything is written
    cache_opts = build_cache.CacheOptions(
        image=str(image), depth=cfg.depth, model=cfg.depth_model, fov=cfg.fov
    )
    cache_opts.validate()
    from shotsmith.backends.depth import resolve_depth

    resolve_depth(cfg.depth, model=cfg.depth_model, depth_kind=cache_opts.depth_kind, announce=False)
    ws = W.Workspace(cfg.workspace or default_workspace(cfg.prompt))  # made by `locked` below
    cam, camera = cfg.cam, cfg.camera
    lenient = False
    if not (cam or camera or cfg.trajectory):
        camera, lenient = cfg.prompt, True  # the camera words of the prompt; its scene words are skipped
        if cfg.rig:
            from shotsmith.textplan import parse_text

            try:
                parse_text(camera, lenient=True)
            except PlanError:
                cam, camera, lenient = "static", None, False  # a rig of still cameras
    frames, width, height = _fit_to_generator(cfg)
    plan_cfg = plan_trajectory.PlanTrajectoryConfig(
        cam=cam,
        camera=camera,
        trajectory=cfg.trajectory,
        frames=frames,
        fps=cfg.fps,
        width=width,
        height=height,
        amount=cfg.amount,
        ease=cfg.ease,
        duration=cfg.duration,
        lenient=lenient,
    )
    try:  # a bad camera option fails before anything is written (the real plan needs the cache's intrinsics)
        plan_trajectory.make_path(plan_cfg)
    except PlanError as exc:
        if lenient:
            raise PlanError(
                f"the prompt {cfg.prompt!r} has no camera motion I can read ({exc}); "
                'add --cam PRESET (see `shotsmith presets`) or --camera "TEXT"'
            ) from exc
        raise
    lines: list[StageLine] = []

    def step(fn):
        start = time.perf_counter()
        rec = fn()
        lines.append(_line(rec, time.perf_counter() - start))
        return rec

    with ws.locked():
        ws.update_request(prompt=cfg.prompt, image=W.input_file(image.name), source_image=str(image))
        step(
            lambda: build_cache.build_cache(
                ws,
                cache_opts,
                force=cfg.force,
            )
        )
        step(lambda: plan_trajectory.run(ws, plan_cfg, force=cfg.force))
        step(lambda: caption.run(ws, caption.CaptionConfig(prompt=cfg.prompt), force=cfg.force))
        if cfg.objects:
            from shotsmith.stages import insert_object

            for obj in cfg.objects:
                icfg = insert_object.InsertConfig(
                    object_path=obj.path, at_pixel=obj.at_pixel, at=obj.at, height=obj.height, mode=obj.mode
                )
                step(lambda icfg=icfg: insert_object.run(ws, icfg, force=cfg.force))
        if cfg.rig:
            _rig_steps(cfg, ws, step)
        else:
            _single_camera_steps(cfg, ws, step)
        if cfg.evaluate and not cfg.rig:
            from shotsmith.stages import evaluate

            step(lambda: evaluate.run(ws, evaluate.EvaluateConfig(), force=cfg.force))
    return ws, lines


def _neural_options(cfg: RunConfig) -> dict:
    options = {
        "model": cfg.model,
        "steps": cfg.steps,
        "strength": cfg.strength,
        "guidance_scale": cfg.guidance_scale,
        "dtype": cfg.dtype,
        "device": cfg.device,
    }
    return {k: v for k, v in options.items() if v is not None}


def _rig_steps(cfg: RunConfig, ws: W.Workspace, step) -> None:
    from shotsmith.stages import rig

    step(lambda: rig.render_guidance_rig(ws, rig.RigRenderOptions(rig=cfg.rig), force=cfg.force))
    options = {
        k: v for k, v in _neural_options(cfg).items() if k in ("model", "steps", "strength", "guidance_scale")
    }
    gen = rig.RigGenerateOptions(generator=cfg.generator, seed=cfg.seed, **options)
    step(lambda: rig.generate_rig(ws, gen, force=cfg.force))


def _single_camera_steps(cfg: RunConfig, ws: W.Workspace, step) -> None:
    from shotsmith.stages import generate, render_guidance

    step(lambda: render_guidance.render_guidance(ws, render_guidance.GuidanceOptions(), force=cfg.force))
    gen_cfg = generate.GenerateConfig(
        generator=cfg.generator, seed=cfg.seed, offload=cfg.offload, **_neural_options(cfg)
    )
    step(lambda: generate.run(ws, gen_cfg, force=cfg.force))


def print_summary(ws: W.Workspace, lines: list[StageLine]) -> None:
    from rich.table import Table

    table = Table("stage", "status", "backend", "seconds", title=f"shot in {ws.root}")
    for line in lines:
        table.add_row(line.stage, line.status, line.backend, f"{line.seconds:.2f}")
    table.add_row("total", "", "", f"{sum(line.seconds for line in lines):.2f}")
    console.print(table)
    info(f"trajectory plot: {ws.path(W.TRAJECTORY_PNG)}")
