"""`shotsmith run` and `shotsmith recapture`: the stages chained for one shot, with every stage's options.

`RunConfig` and `RecaptureConfig` hold each stage's own `Config` (nested, so each option is still declared once,
in its stage); the command lines are generated from them. `run_shot` validates everything before the first
write, then executes, in a locked workspace: build-3d-cache (so the plan can look through the source camera's
intrinsics), plan-trajectory, caption (its motion caption describes the plan), insert-object per `--object`,
render-guidance, generate (both with `--rig` when given) and optionally evaluate. `recapture` runs
build-3d-cache on the video (a 4D cache), plan-trajectory (placed relative to the source camera),
render-guidance and generate, and the rig's cameras after them when `--rig` is given. Every stage skips itself
when its inputs, options and backend did not change. No stage logic here: only configs and their order.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from shotsmith import workspace as W
from shotsmith.console import console, info, note
from shotsmith.errors import InputError, PlanError
from shotsmith.options import nested, opt, parse_numbers
from shotsmith.stage import Stage, execute
from shotsmith.stages import build_cache as cache_stage
from shotsmith.stages import caption as caption_stage
from shotsmith.stages import evaluate as evaluate_stage
from shotsmith.stages import generate as generate_stage
from shotsmith.stages import insert_object as object_stage
from shotsmith.stages import plan_trajectory as plan_stage
from shotsmith.stages import render_guidance as render_stage

_VIDEO_ONLY = ("frames", "fps", "size", "fit", "short", "source_camera", "align", "source_scale")


@dataclass
class RunConfig:
    """Options of `shotsmith run` (DESIGN.md section 2): its own, then every stage's."""

    prompt: str | None = opt(None, argument=True)
    """What the shot shows; camera words in it are planned too (with -w of a shot: its recorded prompt)."""
    image: list[str] | None = opt(None, flags=("--image", "-i", "--images"))
    """The source photo (with -w of a shot: its recorded photo); repeat --image, or --images DIR, for one scene
    from several photos."""
    workspace: str | None = opt(None, flags=("-w", "--workspace"))
    """Workspace folder (default shots/<slug-of-prompt>/)."""
    objects: list[str] = opt(factory=list, flags=("--object",), file=True)
    """Mesh or point cloud to insert (repeatable)."""
    at_pixel: list[str] = opt(factory=list, metavar="U,V")
    """U,V where each --object stands (one per --object)."""
    object_height: list[float] = opt(factory=list)
    """Height of each --object in scene units (one per --object, or none)."""
    object_mode: str = "layered"
    """fused or layered, for every --object."""
    rig: str | None = opt(None, file=True)
    """Camera rig (`shotsmith rigs`): one video per camera + output/grid.mp4."""
    evaluate: bool = False
    """Also measure the result's camera (evaluate)."""
    plan: plan_stage.Config = nested(plan_stage.Config, exclude=("fov", "target", "lenient"))
    cache: cache_stage.Config = nested(
        cache_stage.Config, exclude=("image", "video", *_VIDEO_ONLY), rename={"model": "depth_model"}
    )
    caption: caption_stage.Config = nested(caption_stage.Config, exclude=("prompt",), share=("device",))
    render: render_stage.Config = nested(
        render_stage.Config,
        exclude=("rig", "other_frames", "fill_tolerance"),
        rename={"backend": "render_backend"},
    )
    generate: generate_stage.Config = nested(
        generate_stage.Config, exclude=("rig", "prompt"), share=("device",)
    )
    evaluation: evaluate_stage.Config = nested(
        evaluate_stage.Config,
        exclude=("video", "trajectory", "output", "prompt"),
        rename={"seed": "eval_seed"},
        share=("clip_model", "clip_pretrained", "device"),
    )

    def validate(self) -> None:
        for cfg in (self.cache, self.caption, self.render, self.generate, self.evaluation):
            cfg.validate()
        if len(self.at_pixel) != len(self.objects):
            raise InputError(
                f"give one --at-pixel per --object (got {len(self.objects)} objects, {len(self.at_pixel)} pixels)"
            )
        if self.object_height and len(self.object_height) != len(self.objects):
            raise InputError(f"give one --object-height per --object or none (got {len(self.object_height)})")
        for spec in self.object_configs():
            spec.validate()
        if self.rig:
            from shotsmith.rigs import load_rig

            load_rig(self.rig)

    def object_configs(self) -> list[object_stage.Config]:
        """One insert-object config per --object."""
        at = parse_numbers(2, "--at-pixel")
        return [
            object_stage.Config(
                object_path=str(path),
                at_pixel=at(self.at_pixel[i]),  # type: ignore[arg-type]
                height=self.object_height[i] if self.object_height else None,
                mode=self.object_mode,  # type: ignore[arg-type]
            )
            for i, path in enumerate(self.objects)
        ]


@dataclass
class RecaptureConfig:
    """Options of `shotsmith recapture`: its own, then those of the stages it runs on the video."""

    video: str = opt(argument=True)
    """The source video (mp4, mov, mkv, webm...)."""
    workspace: str | None = opt(None, flags=("-w", "--workspace"))
    """Workspace folder (default shots/<video>-<cam>/)."""
    rig: str | None = opt(None, file=True)
    """Also re-shoot through every camera of a rig (`shotsmith rigs`): output/cams, grid."""
    cache: cache_stage.Config = nested(cache_stage.Config, exclude=("image", "video", "max_pixels"))
    plan: plan_stage.Config = nested(
        plan_stage.Config, exclude=("camera", "trajectory", "frames", "fps", "size", "duration", "fov")
    )
    render: render_stage.Config = nested(
        render_stage.Config, exclude=("rig", "frames_png"), rename={"backend": "render_backend"}
    )
    generate: generate_stage.Config = nested(
        generate_stage.Config, exclude=("rig",), rename={"model": "generator_model"}, share=("device",)
    )

    def validate(self) -> None:
        if not self.plan.cam or not str(self.plan.cam).strip():
            raise InputError("--cam is required; give a preset (pan_right), a number 1-10, a file or a text")
        if not Path(self.video).is_file():
            raise InputError(f"{self.video}: no such video; check the path")
        replace(self.cache, video=self.video).validate()
        self.cache.decode_options().validate()
        self.plan.validate()
        self.render.validate()
        self.generate.validate()
        kind, value = plan_stage.classify_cam(self.plan.cam)
        if kind == "preset":  # fail early on an unknown preset, with the presets' own suggestions
            from shotsmith.presets import path_from_spec

            path_from_spec(value, frames=2)
        if self.rig:
            from shotsmith.rigs import load_rig

            load_rig(self.rig)


# ---------------------------------------------------------------------------------------------------------------
# Workspaces


def slugify(text: str, max_len: int = 48) -> str:
    """A folder-safe slug of a prompt: "A cat, slow dolly!" -> "a-cat-slow-dolly"."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:max_len].rstrip("-")) or "shot"


def default_workspace(prompt: str) -> Path:
    return Path("shots") / slugify(prompt)


def recapture_workspace(video: str | Path, cam: str, root: str | Path = "shots") -> Path:
    """shots/<slug of the video's name and the camera>/."""
    kind, value = plan_stage.classify_cam(cam)
    label = Path(value).stem if kind == "file" else value
    slug = re.sub(r"[^a-z0-9]+", "-", f"{Path(video).stem} {label}".lower()).strip("-")[:60].strip("-")
    return Path(root) / (slug or "recapture")


# ---------------------------------------------------------------------------------------------------------------
# Running


@dataclass
class StageLine:
    stage: str
    status: str
    backend: str
    seconds: float


class _Steps:
    """Executes stages in a workspace and keeps one summary line per stage."""

    def __init__(self, ws: W.Workspace, force: bool) -> None:
        self.ws, self.force, self.lines = ws, force, []

    def __call__(self, stage: Stage, cfg) -> W.StageRecord:
        start = time.perf_counter()
        rec = execute(self.ws, stage, cfg, force=self.force)
        skipped = bool(rec.extra.get("skipped")) if isinstance(rec.extra, dict) else False
        self.lines.append(
            StageLine(rec.stage, "skipped" if skipped else "ran", rec.backend, time.perf_counter() - start)
        )
        return rec


def chunk_for_generator(
    plan: plan_stage.Config, gen_cfg: generate_stage.Config, rig: str | None = None
) -> generate_stage.Config:
    """generate's config with `chunk` set to the generator's native length (Wan 81, CogVideoX 49) when the plan
    is longer than it and no --chunk was given; unchanged otherwise (and for rigs, made in one go)."""
    if rig or gen_cfg.chunk is not None:
        return gen_cfg
    gen, _ = gen_cfg.resolve()
    n = plan.frame_count(plan_stage.DEFAULT_FPS if plan.fps is None else float(plan.fps))
    chunk = generate_stage.chunk_frames(gen_cfg, gen, n, native=True)
    return gen_cfg if chunk is None else replace(gen_cfg, chunk=chunk)


def fit_plan_to_generator(
    plan: plan_stage.Config, gen_cfg: generate_stage.Config, rig: str | None = None
) -> plan_stage.Config:
    """The plan's frames and size adjusted to the generator's constraints (with a note), or unchanged. A plan
    longer than the chunk (`chunk_for_generator`) keeps its frames: generate makes it in chunks."""
    gen, _ = gen_cfg.resolve()
    c = gen.constraints
    n = plan.frame_count(plan_stage.DEFAULT_FPS if plan.fps is None else float(plan.fps))
    fitted = c.fit_frames(n)
    chunked = not rig and generate_stage.chunk_frames(gen_cfg, gen, n) is not None
    if fitted != n and not chunked:
        note(f"generator {gen.name} needs {c.frame_rule} frames: planning {fitted} frames instead of {n}")
        plan = replace(plan, frames=fitted, duration=None)
    if c.size is not None:
        w, h = plan.size or (plan_stage.DEFAULT_WIDTH, plan_stage.DEFAULT_HEIGHT)
        if (w, h) != tuple(c.size):
            note(f"generator {gen.name} needs {c.size[0]}x{c.size[1]}: using it instead of {w}x{h}")
            plan = replace(plan, size=tuple(c.size))
    return plan


def camera_plan(cfg: RunConfig) -> plan_stage.Config:
    """The plan config: the options', else the camera words of the prompt (its scene words skipped)."""
    plan = cfg.plan
    if plan.cam or plan.camera or plan.trajectory:
        return plan
    if cfg.rig:
        from shotsmith.textplan import parse_text

        try:
            parse_text(cfg.prompt, lenient=True)
        except PlanError:
            return replace(plan, cam="static")  # a rig of still cameras
    return replace(plan, camera=cfg.prompt, lenient=True)


def from_workspace(cfg: RunConfig) -> RunConfig:
    """`shotsmith run -w WS` of an existing shot: what the command leaves out comes from the workspace's record:
    the prompt and photo (shot.json's request, the cache's recorded options) and, when neither a prompt nor a
    camera option is given, the recorded plan (a viewer's keyframes, a preset...), so only what is stale reruns."""
    if cfg.prompt is not None and cfg.image is not None:
        return cfg
    if not cfg.workspace:
        raise InputError("give the PROMPT and --image IMAGE, or -w WORKSPACE of an existing shot")
    ws = W.Workspace(cfg.workspace)
    if not ws.exists(W.SHOT):
        raise InputError(f"{ws.root}: no shot there (no {W.SHOT}); give the PROMPT and --image IMAGE")
    request = ws.manifest()["request"]
    out = cfg
    if cfg.image is None:
        if not request.get("image"):
            raise InputError(f"{ws.root}: no photo recorded; give --image IMAGE")
        names = request.get("images") or [request["image"]]
        out = replace(out, image=[str(ws.path(n)) for n in names])
        rec = ws.record(cache_stage.NAME)
        if rec is not None and rec.status == "ok":  # the cache as it was built (its depth backend...)
            fields = cache_stage.Config.__dataclass_fields__
            out = replace(
                out, cache=replace(cfg.cache, **{k: v for k, v in rec.options.items() if k in fields})
            )
    if cfg.prompt is None:
        out = replace(out, prompt=str(request.get("prompt") or ""))
        plan = cfg.plan
        rec = ws.record(plan_stage.NAME)
        if not (plan.cam or plan.camera or plan.trajectory) and rec is not None and rec.status == "ok":
            recorded = {k: v for k, v in rec.options.items() if k in plan_stage.Config.__dataclass_fields__}
            if recorded.get("size") is not None:
                recorded["size"] = tuple(recorded["size"])
            out = replace(out, plan=plan_stage.Config(**recorded))
    return out


#: glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8


def keep_freed_memory() -> bool:
    """Let this process keep the memory it frees for its next arrays (glibc only; False elsewhere).

    glibc maps each large block (every 100-250 MB frame stack of a shot) on its own and unmaps it when freed, so
    each stage faults all its memory in afresh from the kernel; on a virtual machine that hands free pages back
    to its host (page reporting, ballooning) each fault goes to the hypervisor: `run`'s 81 frames at 832x480
    spent ~5 s of system time in ~480k faults. Large blocks come from the heap instead, which is not trimmed:
    the memory a stage freed serves the next one. The peak memory stays the shot's (the heap is reused, not
    grown per stage). One arena for every thread, so what a writer or worker thread frees serves the others."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_MAX, 0)
        and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
        and mallopt(_M_TOP_PAD, 256 << 20)
        and mallopt(_M_ARENA_MAX, 1)  # every thread's blocks in one heap, so what one frees serves all
    )


def provision_memory_in_background(nbytes: int):
    """Touch `nbytes` of heap on a daemon thread and give them back to it (kept: `keep_freed_memory`), while the
    first stages work on one core: the later stages' big arrays then land on pages already provided, where each
    first touch would cost ~10 ms per MB on a virtual machine that hands free memory back to its host (and
    ~0.1 ms per MB elsewhere, on the idle core)."""
    import threading

    def provide() -> None:
        import numpy as np

        try:
            block = np.empty(nbytes, np.uint8)
            block[::4096] = 0
            del block
        except MemoryError:
            pass

    thread = threading.Thread(target=provide, name="provide-memory", daemon=True)
    thread.start()
    return thread


def load_renderer_in_background() -> None:
    """Load the point renderer's compiled kernel on a daemon thread while the cache is built: the first frame
    of the guidance otherwise waits for it (0.2-0.4 s, mostly LLVM work that releases the GIL). A failure here
    is ignored: the render itself then reports it."""
    import threading

    def load() -> None:
        try:
            from shotsmith.render import warmup

            warmup()
        except Exception:  # noqa: BLE001, S110 - the real render reports a broken backend in one line
            pass

    threading.Thread(target=load, name="load-renderer", daemon=True).start()


#: The most memory provided ahead (a long shot is made in chunks and never holds all its frames).
_PROVISION_MAX = 512 << 20


def _shot_bytes(plan) -> int:
    """What the guidance of the planned shot holds in memory (colour, mask, float16 depth: 6 bytes a pixel)."""
    try:
        cam = plan_stage.make_path(plan)
        return min(int(len(cam) * cam.width * cam.height * 10), _PROVISION_MAX)
    except Exception:  # noqa: BLE001 - sizing only; the stages report a bad plan
        return 0


def run_shot(cfg: RunConfig, force: bool = False) -> tuple[W.Workspace, list[StageLine]]:
    """Run every stage of a shot; returns the workspace and one line per stage."""
    from shotsmith.backends.depth import is_depth_file, resolve_depth

    kept = keep_freed_memory()
    cfg = from_workspace(cfg)
    cfg.validate()
    image_cache = replace(cfg.cache, image=cfg.image)
    image_cache.validate()
    cache_stage.check_source(image_cache)  # a bad image fails before anything is written
    resolve_depth(cfg.cache.depth, model=cfg.cache.model, depth_kind=cfg.cache.depth_kind, announce=False)
    plan = camera_plan(cfg)
    cfg = replace(cfg, generate=chunk_for_generator(plan, cfg.generate, cfg.rig))
    plan = fit_plan_to_generator(plan, cfg.generate, cfg.rig)
    try:  # a bad camera option fails before anything is written (the real plan needs the cache's intrinsics)
        plan_stage.make_path(plan)
    except PlanError as exc:
        if plan.lenient:
            raise PlanError(
                f"the prompt {cfg.prompt!r} has no camera motion I can read ({exc}); "
                'add --cam PRESET (see `shotsmith presets`) or --camera "TEXT"'
            ) from exc
        raise
    plan_stage.check_units_early(plan, depth_is_file=is_depth_file(cfg.cache.depth))
    ws = W.Workspace(cfg.workspace or default_workspace(cfg.prompt))
    step = _Steps(ws, force)
    if kept:
        provision_memory_in_background(_shot_bytes(plan))
    if cfg.render.backend in ("auto", "numba"):
        load_renderer_in_background()
    with ws.locked():
        ws.update_request(prompt=cfg.prompt)
        step(cache_stage.STAGE, image_cache)
        step(plan_stage.STAGE, plan)
        step(caption_stage.STAGE, cfg.caption)
        for obj in cfg.object_configs():
            step(object_stage.STAGE, obj)
        step(render_stage.STAGE, replace(cfg.render, rig=cfg.rig))
        step(generate_stage.STAGE, replace(cfg.generate, rig=cfg.rig))
        if cfg.evaluate and not cfg.rig:
            step(evaluate_stage.STAGE, cfg.evaluation)
    return ws, step.lines


def recapture(cfg: RecaptureConfig, force: bool = False) -> tuple[W.Workspace, list[StageLine]]:
    """Re-shoot a video: its 4D cache, the target path, guidance and generation (and a rig's cameras)."""
    keep_freed_memory()
    cfg.validate()
    ws = W.Workspace(cfg.workspace or recapture_workspace(cfg.video, cfg.plan.cam or ""))
    step = _Steps(ws, force)
    with ws.locked():
        ws.update_request(kind="recapture", cam=cfg.plan.cam, prompt=cfg.generate.prompt or "")
        step(cache_stage.STAGE, replace(cfg.cache, video=cfg.video))
        step(plan_stage.STAGE, cfg.plan)
        step(render_stage.STAGE, cfg.render)
        step(generate_stage.STAGE, cfg.generate)
        if cfg.rig:  # the rig's cameras ride the same target path, through the same 4D cache
            step(render_stage.STAGE, replace(cfg.render, rig=cfg.rig))
            step(generate_stage.STAGE, replace(cfg.generate, rig=cfg.rig))
    return ws, step.lines


def print_summary(ws: W.Workspace, lines: list[StageLine]) -> None:
    from rich.table import Table

    table = Table("stage", "status", "backend", "seconds", title=f"shot in {ws.root}")
    for line in lines:
        table.add_row(line.stage, line.status, line.backend, f"{line.seconds:.2f}")
    table.add_row("total", "", "", f"{sum(line.seconds for line in lines):.2f}")
    console.print(table)
    info(f"trajectory plot: {ws.path(W.TRAJECTORY_PNG)}")
