"""Stage `generate`: turn the guidance into the final video, output/shot.mp4.

Reads guidance/ (rgb.mp4, mask, depth.npz, object_mask.mp4 when present), trajectory.json, the source cache
(cache/depth.npy, image.png, cache.json) and the text (caption.json's `text`, else shot.json's prompt); resolves
the generator (`auto` prints its choice), fits the plan to the generator's constraints (frame rule, fixed or
multiple-of sizes: the cameras are resampled and the guidance frames picked by nearest time, with a printed
note), runs it, and writes output/shot.mp4 (H.264) atomically. The generators themselves live in
`shotsmith.backends` (embedded `inpaint`, neural `wan` / `cogvideox`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np

from shotsmith import workspace as W
from shotsmith.backends.generate import Constraints, GenerateRequest, Generator, resolve_generator
from shotsmith.camera import CameraPath, resample
from shotsmith.console import info, note
from shotsmith.errors import InputError, ShotsmithError, WorkspaceError

STAGE = "generate"
GENERATORS: tuple[str, ...] = ("auto", "inpaint", "wan", "cogvideox")


@dataclass
class GenerateConfig:
    """Options of `shotsmith generate` (None = the backend's own default)."""

    generator: Literal["auto", "inpaint", "wan", "cogvideox"] = "auto"
    """Backend: "auto" (a video model if its weights are on this machine, else the embedded "inpaint")."""
    model: str | None = None
    """Hub id or local folder of the model (neural generators only)."""
    steps: int | None = None
    """Denoising steps (neural generators)."""
    seed: int = 0
    """Random seed; the same seed gives the same video."""
    strength: float | None = None
    """How much the neural generator may depart from the guidance's latents (0..1)."""
    guidance_scale: float | None = None
    """Classifier-free guidance scale (neural generators)."""
    dtype: str | None = None
    """Weights dtype: float32, float16, bfloat16 (neural generators)."""
    device: str | None = None
    """Torch device: cpu, cuda, cuda:1... (neural generators)."""
    offload: bool = False
    """Offload model parts to the CPU between uses (low-memory GPUs; neural generators)."""
    prompt: str | None = None
    """Text handed to the generator instead of caption.json's `text`."""

    def validate(self) -> None:
        if self.generator not in GENERATORS:
            raise InputError(f"--generator {self.generator!r}: choose one of {', '.join(GENERATORS)}")
        if self.steps is not None and self.steps < 1:
            raise InputError(f"--steps {self.steps}: must be at least 1")
        if self.strength is not None and not 0.0 <= self.strength <= 1.0:
            raise InputError(f"--strength {self.strength}: must be between 0 and 1")
        if self.guidance_scale is not None and not (
            math.isfinite(self.guidance_scale) and self.guidance_scale >= 0
        ):
            raise InputError(f"--guidance-scale {self.guidance_scale}: must be a non-negative number")

    def backend_kwargs(self) -> dict:
        """Keyword arguments for the generator's factory (only those given)."""
        kw = {"model": self.model, "dtype": self.dtype, "device": self.device}
        out = {k: v for k, v in kw.items() if v is not None}
        if self.offload:
            out["offload"] = True
        return out


@dataclass
class Guidance:
    """The guidance of a workspace in memory."""

    rgb: np.ndarray
    """(T, H, W, 3) uint8."""
    mask: np.ndarray
    """(T, H, W) bool, True where the cache covers the pixel."""
    depth: np.ndarray
    """(T, H, W) float32 z-depth, 0 where empty."""
    object_mask: np.ndarray | None = None
    """(T, H, W) bool inserted-object pixels, or None."""


# ---------------------------------------------------------------------------------------------------------------
# Reading the workspace


def _inputs(ws: W.Workspace) -> list[str]:
    names = [W.GUIDANCE_RGB, W.GUIDANCE_MASK, W.GUIDANCE_DEPTH, W.TRAJECTORY, W.CACHE_DEPTH, W.CACHE_IMAGE]
    names.append(W.CACHE_JSON)
    for optional in (W.CAPTION, W.GUIDANCE_OBJECT_MASK):
        if ws.exists(optional):
            names.append(optional)
    return names


def check_inputs(ws: W.Workspace) -> None:
    """WorkspaceError naming the stage to run for the first missing input."""
    for name, stage in (
        (W.TRAJECTORY, "plan-trajectory"),
        (W.CACHE_JSON, "build-3d-cache"),
        (W.CACHE_DEPTH, "build-3d-cache"),
        (W.CACHE_IMAGE, "build-3d-cache"),
        (W.GUIDANCE_RGB, "render-guidance"),
        (W.GUIDANCE_MASK, "render-guidance"),
        (W.GUIDANCE_DEPTH, "render-guidance"),
    ):
        ws.require(name, stage)


def read_guidance(ws: W.Workspace) -> Guidance:
    """guidance/ as arrays; the exact mask stored in depth.npz is preferred over the lossy mask video."""
    return read_guidance_files(
        ws, W.GUIDANCE_RGB, W.GUIDANCE_DEPTH, W.GUIDANCE_MASK, W.GUIDANCE_OBJECT_MASK, "render-guidance"
    )


def read_guidance_files(
    ws: W.Workspace, rgb_name: str, depth_name: str, mask_name: str, object_mask_name: str, hint: str
) -> Guidance:
    """One camera's guidance from these workspace files (a rig keeps one set per camera); `hint` is the command
    that makes them."""
    from shotsmith.media import read_mask_video, read_video

    rgb, _ = read_video(ws.require(rgb_name, hint))
    depth_path = ws.require(depth_name, hint)
    try:
        with np.load(depth_path, allow_pickle=False) as z:
            depth = np.asarray(z["depth"], dtype=np.float32)
            mask = np.asarray(z["mask"], dtype=bool) if "mask" in z.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceError(f"{depth_path}: not a guidance depth file ({exc}); rerun {hint}") from exc
    if mask is None:
        mask = read_mask_video(ws.require(mask_name, hint))
    mask = mask & (depth > 0) if mask.shape == depth.shape else mask
    depth = np.where(mask, depth, 0.0).astype(np.float32) if mask.shape == depth.shape else depth
    obj = read_mask_video(ws.path(object_mask_name)) if ws.exists(object_mask_name) else None
    shapes = {"rgb.mp4": rgb.shape[:3], "depth.npz": depth.shape, "mask": mask.shape}
    if obj is not None:
        shapes["object_mask.mp4"] = obj.shape
    if len(set(shapes.values())) != 1:
        raise WorkspaceError(
            f"{ws.path(rgb_name).parent}: the guidance files disagree ({shapes}); rerun `shotsmith {hint} "
            f"-w {ws.root} --force`"
        )
    return Guidance(rgb, mask, depth, obj)


def read_prompt(ws: W.Workspace, override: str | None) -> str:
    """The text for the generator: `override`, else caption.json's `text`, else shot.json's prompt."""
    if override is not None:
        return override
    if ws.exists(W.CAPTION):
        text = ws.read_json(W.CAPTION).get("text")
        if text:
            return str(text)
    return str(ws.manifest().get("request", {}).get("prompt") or "")


# ---------------------------------------------------------------------------------------------------------------
# Fitting the plan to a backend


def nearest_frames(n_src: int, n_dst: int) -> np.ndarray:
    """(n_dst,) indices of the source frames nearest in normalised time to `n_dst` evenly spaced frames."""
    if n_dst == 1 or n_src == 1:
        return np.zeros(n_dst, dtype=int)
    return np.rint(np.linspace(0.0, n_src - 1, n_dst)).astype(int)


def fitted_size(c: Constraints, width: int, height: int) -> tuple[int, int]:
    """The (width, height) a backend accepts for a planned size."""
    if c.size is not None:
        return int(c.size[0]), int(c.size[1])
    m = max(1, int(c.multiple_of))
    return max(m, width // m * m), max(m, height // m * m)


def fit_to_backend(
    guidance: Guidance, cams: CameraPath, c: Constraints
) -> tuple[Guidance, CameraPath, list[str]]:
    """Resample and resize guidance + cameras to what the backend accepts; returns the notes printed."""
    import cv2

    notes: list[str] = []
    n = len(cams)
    n_fit = c.fit_frames(n)
    if n_fit != n:
        idx = nearest_frames(n, n_fit)
        guidance = Guidance(
            guidance.rgb[idx],
            guidance.mask[idx],
            guidance.depth[idx],
            None if guidance.object_mask is None else guidance.object_mask[idx],
        )
        cams = resample(cams, n_fit)
        notes.append(
            f"the generator needs {c.frame_rule} frames: resampled the plan from {n} to {n_fit} frames"
        )
    w, h = fitted_size(c, cams.width, cams.height)
    if (w, h) != (cams.width, cams.height):

        def rs(a, interp):
            return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in a])

        near = cv2.INTER_NEAREST
        guidance = Guidance(
            rs(guidance.rgb, cv2.INTER_AREA),
            rs(guidance.mask.astype(np.uint8), near).astype(bool),
            rs(guidance.depth, near),
            None
            if guidance.object_mask is None
            else rs(guidance.object_mask.astype(np.uint8), near).astype(bool),
        )
        notes.append(f"the generator works at {w}x{h}: resized the guidance from {cams.width}x{cams.height}")
        cams = cams.with_size(w, h)
    return guidance, cams, notes


def _resize_video(video: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    if video.shape[1:3] == (height, width):
        return video
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LANCZOS4) for f in video])


# ---------------------------------------------------------------------------------------------------------------
# The stage


def _generate(ws: W.Workspace, cfg: GenerateConfig, gen: Generator, why: str) -> W.StageResult:
    from shotsmith.formats import read_trajectory
    from shotsmith.media import write_video
    from shotsmith.stages.build_cache import load_cache

    t0 = time.perf_counter()
    cams = read_trajectory(ws.require(W.TRAJECTORY, "plan-trajectory"))
    guidance = read_guidance(ws)
    t_, h_, w_ = guidance.mask.shape
    if (len(cams), cams.width, cams.height) != (t_, w_, h_):
        raise WorkspaceError(
            f"{ws.path(W.GUIDANCE_DIR)}: guidance has {t_} frames at {w_}x{h_} but trajectory.json plans "
            f"{len(cams)} at {cams.width}x{cams.height}; rerun `shotsmith render-guidance -w {ws.root}`"
        )
    cache = load_cache(ws)
    prompt = read_prompt(ws, cfg.prompt)
    seconds_read = time.perf_counter() - t0

    planned = (len(cams), cams.width, cams.height, cams.fps)
    guidance, fit_cams, notes = fit_to_backend(guidance, cams, gen.constraints)
    for line in notes:
        note(line)

    request = GenerateRequest(
        guidance_rgb=guidance.rgb,
        guidance_mask=guidance.mask,
        guidance_depth=guidance.depth,
        cameras=fit_cams,
        prompt=prompt,
        source_rgb=cache.image,
        source_depth=cache.depth,
        source_intrinsics=cache.info.intrinsics_array,
        source_world_from_camera=cache.info.world_from_camera_array,
        object_mask=guidance.object_mask,
        seed=int(cfg.seed),
    )
    overrides = {"steps": cfg.steps, "strength": cfg.strength, "guidance_scale": cfg.guidance_scale}
    request = replace(request, **{k: v for k, v in overrides.items() if v is not None})

    t1 = time.perf_counter()
    gen.load()
    video = np.asarray(gen.generate(request))
    seconds_generate = time.perf_counter() - t1
    want = (len(fit_cams), fit_cams.height, fit_cams.width, 3)
    if video.shape != want or video.dtype != np.uint8:
        raise ShotsmithError(
            f"generator {gen.name!r} returned {video.shape} {video.dtype}, expected {want} uint8 (a backend bug)"
        )
    if (fit_cams.width, fit_cams.height) != (planned[1], planned[2]):
        video = _resize_video(video, planned[1], planned[2])
        note(f"resized the generated video back to the planned {planned[1]}x{planned[2]}")
    fps = planned[3] * len(video) / planned[0]  # same duration when the frame count changed

    t2 = time.perf_counter()
    with ws.atomic(W.OUTPUT_VIDEO) as tmp:
        write_video(tmp, video, fps, path_for_errors=str(ws.path(W.OUTPUT_VIDEO)))
    seconds_write = time.perf_counter() - t2

    extra = {
        "generator": gen.name,
        "reason": why,
        "frames": len(video),
        "planned_frames": planned[0],
        "size": [int(video.shape[2]), int(video.shape[1])],
        "fps": round(fps, 6),
        "notes": notes,
        "fill_fraction": round(float((~guidance.mask).mean()), 6),
        "prompt": prompt,
        "seconds_read": round(seconds_read, 3),
        "seconds_generate": round(seconds_generate, 3),
        "seconds_write": round(seconds_write, 3),
    }
    report = getattr(gen, "last_report", None)
    if report is not None and hasattr(report, "as_dict"):
        rep = report.as_dict()
        extra["temporal_instability"] = rep.get("temporal_instability")
        extra["inpaint"] = rep
    return W.StageResult(outputs=[W.OUTPUT_VIDEO], backend_version=gen.version(), extra=extra)


def run(ws: W.Workspace, cfg: GenerateConfig | None = None, *, force: bool = False) -> W.StageRecord:
    """Run the stage (skipped when guidance, trajectory, cache, text, options and backend are unchanged)."""
    cfg = cfg or GenerateConfig()
    cfg.validate()
    check_inputs(ws)
    gen, why = resolve_generator(cfg.generator, **cfg.backend_kwargs())
    info(f"generate: {gen.name} ({why})")
    if gen.name == "inpaint" and cfg.model:
        note(f"--model {cfg.model} is ignored by the embedded inpaint generator")
    return W.run_stage(
        ws,
        STAGE,
        lambda: _generate(ws, cfg, gen, why),
        options=asdict(cfg),
        inputs=_inputs(ws),
        backend=gen.name,
        force=force,
    )


__all__ = [
    "GENERATORS",
    "STAGE",
    "GenerateConfig",
    "Guidance",
    "check_inputs",
    "fit_to_backend",
    "nearest_frames",
    "read_guidance",
    "read_prompt",
    "run",
]
