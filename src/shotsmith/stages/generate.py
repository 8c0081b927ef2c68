"""Stage `generate`: fill the guidance into the final video, for one camera or every camera of a rig.

Reads the guidance (guidance/ for the single camera, guidance/cams/NN/ for a rig rendered with `--rig`), each
camera's path, the source view (cache/depth.npy, image.png, cache.json: a photo, or frame 0 of a video) and the
text (`artifacts.generator_text`: --prompt, else caption.json's text, else the prompt). Resolves the generator
(`auto` prints its choice), fits every view to the generator's constraints (frame rule, fixed or multiple-of
sizes: cameras resampled and guidance frames picked by nearest time, with a printed note), generates, and writes
output/shot.mp4 (H.264; a re-shot video keeps the source's audio and gets output/side_by_side.mp4), or per rig
camera output/cams/NN.mp4 and the labelled mosaic output/grid.mp4.

Frame 0 is the photo, whatever the generator (`fill.source_view_frames`, docs/INPAINT.md "Frame 0"): a frame at
the source camera shows the photo resized and centre-cropped (the pixels the cache dropped included); the
generator is shown it complete in its guidance, and the photo is blended into the first frames of its output,
fading out as the picture moves (`--source-fade` pixels).

A shot longer than `--chunk` (set by `run` to the generator's native length for a longer plan) is made in
overlapping chunks whose frames are lifted into a growing world cache (`shotsmith.world`, docs/WORLD.md); each
chunk is stored as output/chunks/NNN.npz under the key of its inputs, so a rerun resumes at the first missing
or changed chunk.

A single camera is a rig of one: every view is a `View` and goes through the same request and fitting. Several
views share what they should: the embedded `inpaint` builds its fill layers once from all the cameras (one fill
in 3D, every view shows the same invented pixels); the diffusion backends run the views in batches through one
guided loop from initial noise shared where views see the same 3D point (docs/RIGS.md). The generators live in
`shotsmith.backends`.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.backends.generate import Constraints, GenerateRequest, Generator, resolve_generator
from shotsmith.camera import CameraPath, concatenate, resample
from shotsmith.console import info, note, track
from shotsmith.errors import InputError, ShotsmithError, WorkspaceError
from shotsmith.stage import Stage

NAME = "generate"
GENERATORS: tuple[str, ...] = ("auto", "inpaint", "wan", "cogvideox")


@dataclass
class Config:
    """Options of `shotsmith generate` (None = the backend's own default)."""

    generator: Literal["auto", "inpaint", "wan", "cogvideox"] = "auto"
    """auto (a video model when its weights are on this machine, else inpaint), inpaint (embedded, CPU), wan or
    cogvideox (video models)."""
    model: str | None = None
    """Hub id or local folder of the video model."""
    steps: int | None = None
    """Denoising steps (video models)."""
    seed: int = 0
    """Random seed; the same seed gives the same video."""
    strength: float | None = None
    """How far a video model may depart from the guidance (0..1)."""
    guidance_scale: float | None = None
    """Classifier-free guidance scale (video models)."""
    dtype: str | None = None
    """Model dtype: float32, float16 or bfloat16 (video models)."""
    device: str | None = None
    """Torch device of the neural models (depth, video, CLIP): auto (CUDA, else Apple MPS, else the CPU), cpu,
    cuda, cuda:N or mps."""
    offload: Literal["none", "model", "text-cpu", "group", "sequential"] = "none"
    """Video models on a small GPU: none, model (each component on the GPU while it runs), text-cpu (the text
    encoder stays on the CPU), group or sequential (layers stream in; least memory, slowest); docs/GENERATORS.md."""
    prompt: str | None = None
    """Text for the generator instead of caption.json's."""
    rig: str | None = None
    """Generate every camera of the rig rendered by `render-guidance --rig` (the same spec)."""
    grid_max_width: int = 1280
    """Rigs: largest width of output/grid.mp4 in pixels (an overview; tiles are scaled down to fit)."""
    labels: bool = True
    """Rigs: write each camera's name on its tile of the grid."""
    source_fade: float = 6.0
    """Frame 0 is the photo: the photo is blended into the first frames until the picture has moved this many
    pixels from the source view (0: only frames exactly at the source camera)."""
    chunk: int | None = None
    """Long shots: frames per chunk; a longer plan is made in overlapping chunks that grow the world cache from
    their frames (docs/WORLD.md). None: in one go, fitted to the generator; `run` picks the generator's native
    length (Wan 81, CogVideoX 49) for a plan longer than it."""
    chunk_overlap: int | None = None
    """Long shots: frames each chunk repeats from the previous one (tied in its guidance, so it continues);
    None: 5 for video models with chunks of 9+ frames (one latent group past the first frame), else 1."""
    lift_every: int = 8
    """Long shots: lift every N-th generated frame (and each chunk's last) into the world cache."""
    world_max_points: int = 2_000_000
    """Long shots: most points the world cache adds (about 15 bytes each); past it, voxels coarsen."""

    def validate(self) -> None:
        if self.generator not in GENERATORS:
            raise InputError(f"--generator {self.generator!r}: choose one of {', '.join(GENERATORS)}")
        if self.steps is not None and self.steps < 1:
            raise InputError(f"--steps {self.steps}: must be at least 1")
        if self.strength is not None and not 0.0 < self.strength <= 1.0:
            raise InputError(
                f"--strength {self.strength}: must be in (0, 1] (0 would keep the noise-free guidance)"
            )
        from shotsmith.backends.diffusion import OFFLOAD_MODES

        if self.offload not in OFFLOAD_MODES:
            raise InputError(f"--offload {self.offload!r}: choose one of {', '.join(OFFLOAD_MODES)}")
        if self.guidance_scale is not None and not (
            math.isfinite(self.guidance_scale) and self.guidance_scale >= 0
        ):
            raise InputError(f"--guidance-scale {self.guidance_scale}: must be a non-negative number")
        from shotsmith.backends.packages import valid_device

        if self.device is not None and not valid_device(self.device):
            raise InputError(
                f"--device {self.device!r}: choose auto, cpu, cuda or cuda:N (e.g. cuda:1), or mps"
            )
        if not (math.isfinite(self.source_fade) and self.source_fade >= 0):
            raise InputError(f"--source-fade {self.source_fade}: must be a non-negative number of pixels")
        if self.grid_max_width < 16:
            raise InputError(f"--grid-max-width {self.grid_max_width}: use at least 16 pixels (default 1280)")
        if self.chunk is not None and self.chunk < 2:
            raise InputError(f"--chunk {self.chunk}: a chunk needs at least 2 frames")
        if self.chunk_overlap is not None and (
            self.chunk_overlap < 0 or (self.chunk is not None and self.chunk_overlap >= self.chunk)
        ):
            raise InputError(
                f"--chunk-overlap {self.chunk_overlap}: must be at least 0 and smaller than the chunk (default 1)"
            )
        if self.lift_every < 1:
            raise InputError(f"--lift-every {self.lift_every}: must be at least 1 (default 8)")
        if self.world_max_points < 1000:
            raise InputError(
                f"--world-max-points {self.world_max_points}: use at least 1000 (default 2000000)"
            )

    def backend_kwargs(self) -> dict:
        """Keyword arguments for the generator's factory (only those given)."""
        kw = {"model": self.model, "dtype": self.dtype, "device": self.device}
        out = {k: v for k, v in kw.items() if v is not None}
        if self.offload != "none":
            out["offload"] = self.offload
        return out

    def resolve(self) -> tuple[Generator, str]:
        """(generator, why it was chosen)."""
        return resolve_generator(self.generator, **self.backend_kwargs())


# ---------------------------------------------------------------------------------------------------------------
# Views and requests


@dataclass
class View:
    """One camera to generate: its guidance and path (index None: the single camera)."""

    index: int | None
    name: str
    guidance: A.Guidance
    cameras: CameraPath


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
    guidance: A.Guidance, cams: CameraPath, c: Constraints
) -> tuple[A.Guidance, CameraPath, list[str]]:
    """Resample and resize guidance + cameras to what the backend accepts; returns the notes printed."""
    import cv2

    notes: list[str] = []
    n = len(cams)
    n_fit = c.fit_frames(n)
    if n_fit != n:
        guidance = guidance.take(nearest_frames(n, n_fit))
        cams = resample(cams, n_fit)
        notes.append(
            f"the generator needs {c.frame_rule} frames: resampled the plan from {n} to {n_fit} frames"
        )
    w, h = fitted_size(c, cams.width, cams.height)
    if (w, h) != (cams.width, cams.height):

        def rs(a, interp):
            return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in a])

        near = cv2.INTER_NEAREST
        om = guidance.object_mask
        guidance = A.Guidance(
            rs(guidance.rgb, cv2.INTER_AREA),
            rs(guidance.mask.astype(np.uint8), near).astype(bool),
            rs(np.asarray(guidance.depth, np.float32), near),
            None if om is None else rs(om.astype(np.uint8), near).astype(bool),
        )
        notes.append(f"the generator works at {w}x{h}: resized the guidance from {cams.width}x{cams.height}")
        cams = cams.with_size(w, h)
    return guidance, cams, notes


def _resize_video(video: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    if video.shape[1:3] == (height, width):
        return video
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LANCZOS4) for f in video])


def source_request(ws: W.Workspace, cfg: Config) -> GenerateRequest:
    """A request carrying the source view (cache resolution), the text and the options; the per-view fields
    are placeholders that `view_request` fills."""
    cache = A.load_cache(ws)
    request = GenerateRequest(
        guidance_rgb=np.zeros((1, 2, 2, 3), np.uint8),
        guidance_mask=np.zeros((1, 2, 2), bool),
        guidance_depth=np.zeros((1, 2, 2), np.float32),
        cameras=CameraPath(np.eye(4)[None], [1.0, 1.0, 1.0, 1.0], 2, 2),
        prompt=A.generator_text(ws, cfg.prompt),
        source_rgb=cache.image,
        source_depth=cache.depth,
        source_intrinsics=cache.info.intrinsics_array,
        source_world_from_camera=cache.info.world_from_camera_array,
        seed=int(cfg.seed),
    )
    overrides = {"steps": cfg.steps, "strength": cfg.strength, "guidance_scale": cfg.guidance_scale}
    return replace(request, **{k: v for k, v in overrides.items() if v is not None})


def view_request(template: GenerateRequest, guidance: A.Guidance, cameras: CameraPath) -> GenerateRequest:
    return replace(
        template,
        guidance_rgb=guidance.rgb,
        guidance_mask=guidance.mask,
        guidance_depth=guidance.depth,
        cameras=cameras,
        object_mask=guidance.object_mask,
    )


def read_views(ws: W.Workspace, cfg: Config) -> list[View]:
    """The views to generate: the single camera, or every camera of rig.json (which must be `cfg.rig`'s)."""
    if not cfg.rig:
        cams = A.read_trajectory(ws)
        guidance = A.read_guidance(ws)
        t_, h_, w_ = guidance.mask.shape
        if (len(cams), cams.width, cams.height) != (t_, w_, h_):
            raise WorkspaceError(
                f"{ws.path(W.GUIDANCE_DIR)}: guidance has {t_} frames at {w_}x{h_} but trajectory.json plans "
                f"{len(cams)} at {cams.width}x{cams.height}; rerun `shotsmith render-guidance -w {ws.root}`"
            )
        return [View(None, "camera", guidance, cams)]
    rig = A.read_rig_json(ws)
    if rig.get("spec") != cfg.rig:
        raise WorkspaceError(
            f"{ws.path(W.RIG_JSON)}: rendered for rig {rig.get('spec')!r}, not {cfg.rig!r}; run "
            f"`shotsmith render-guidance -w {ws.root} --rig {cfg.rig}` first"
        )
    return [
        View(
            int(e["index"]),
            str(e["name"]),
            A.read_guidance(ws, int(e["index"])),
            A.read_trajectory(ws, W.guidance_file("trajectory", int(e["index"]))),
        )
        for e in rig["cameras"]
    ]


# ---------------------------------------------------------------------------------------------------------------
# The frame-0 promise: a frame at the source camera is the photo


def source_views(info_: A.CacheInfo, template: GenerateRequest, views: list[View], fade_px: float):
    """Per view, the source photo placed in its frames near the source camera (`fill.source_view_frames`), or
    None for every view when the source is a video (its frames change; the photo is frame 0 of it only)."""
    from shotsmith.fill import source_view_frames

    if info_.is_4d or template.source_rgb is None or template.source_depth is None:
        return [None] * len(views)
    return [
        source_view_frames(
            v.cameras,
            v.guidance.mask,
            v.guidance.depth,
            template.source_rgb,
            template.source_depth,
            template.source_intrinsics,
            template.source_world_from_camera,
            object_mask=v.guidance.object_mask,
            fade_px=fade_px,
        )
        for v in views
    ]


def _output_timeline(view: View, c: Constraints) -> View:
    """The view at its planned size with the frames the generator returns (a frame rule resamples them)."""
    g, cams, _ = fit_to_backend(view.guidance, view.cameras, Constraints(c.frame_rule, c.frames))
    return replace(view, guidance=g, cameras=cams)


def with_source_view(view: View, sv) -> View:
    """The view whose guidance shows the photo itself where the source weight is 1 (marked covered). Written
    into the view's own arrays (read for this stage alone): copying ~250 MB of guidance for the few frames near
    the source camera cost generate's read step over a second."""
    from shotsmith.fill import complete_with_source_view

    if sv is None or not len(sv):
        return view
    g = view.guidance
    rgb, mask, depth = complete_with_source_view(g.rgb, g.mask, g.depth, sv, inplace=True)
    return replace(view, guidance=A.Guidance(rgb, mask, depth, g.object_mask))


# ---------------------------------------------------------------------------------------------------------------
# Generating


def shared_inpaint_settings(settings, request_template: GenerateRequest, paths: list[CameraPath]):
    """InpaintSettings whose disocclusion band and outpaint padding are computed once from ALL `paths` and pinned,
    so every view builds exactly the same fill layers from the source cache (one fill in 3D)."""
    from shotsmith.backends.inpaint import disocclusion_band_px, outpaint_pad_px

    request = replace(request_template, cameras=concatenate(paths, chain=False))
    band = disocclusion_band_px(request, settings)
    pad = max(outpaint_pad_px(request, settings))
    return replace(settings, band_min_px=band, band_max_frac=0.0, pad_min_px=pad, pad_max_frac=0.0)


def _inpaint_views(gen, template: GenerateRequest, requests: list[GenerateRequest]):
    """Yield (video, report) per view with the embedded inpaint: one set of fill layers for every view."""
    from shotsmith.backends.inpaint import InpaintGenerator, InpaintReport, build_layers

    shared = shared_inpaint_settings(gen.settings, template, [r.cameras for r in requests])
    union = replace(template, cameras=concatenate([r.cameras for r in requests], chain=False))
    layers = build_layers(union, shared, InpaintReport())
    for k, request in enumerate(requests):
        # the temporal-stability measure (a diagnostic) runs on the first view only
        one = InpaintGenerator(settings=shared if k == 0 else replace(shared, measure=False), layers=layers)
        yield one.generate(request), one.last_report


def _diffusion_views(gen, template: GenerateRequest, requests: list[GenerateRequest], stats: dict):
    """Yield (video, None) per view: batches through one denoising loop, noise shared through the cache."""
    reference = CameraPath(
        template.source_world_from_camera[None],
        template.source_intrinsics,
        template.source_depth.shape[1],
        template.source_depth.shape[0],
    )
    depths = ((r.guidance_depth, r.cameras) for r in requests)
    noise = gen.shared_noise(depths, seed=template.seed, reference=reference)
    batch = gen.default_batch(len(requests), *requests[0].guidance_mask.shape, template.guidance_scale)
    stats["views_per_batch"] = batch
    for lo in range(0, len(requests), batch):
        part = requests[lo : lo + batch]
        for video in gen.generate_views(part, noise[lo : lo + len(part)], batch=len(part)):
            yield video, None


def generate_views(gen: Generator, template: GenerateRequest, requests: list[GenerateRequest], stats: dict):
    """Yield (T, H, W, 3) uint8 video and the generator's report (or None) per request; `stats` gets facts
    (views per batch)."""
    if len(requests) == 1:
        gen.load()
        video = gen.generate(requests[0])
        yield video, getattr(gen, "last_report", None)
    elif gen.name == "inpaint":
        yield from _inpaint_views(gen, template, requests)
    else:
        gen.load()
        yield from _diffusion_views(gen, template, requests, stats)


def _check(gen: Generator, video: np.ndarray, cams: CameraPath) -> np.ndarray:
    video = np.asarray(video)
    want = (len(cams), cams.height, cams.width, 3)
    if video.shape != want or video.dtype != np.uint8:
        raise ShotsmithError(
            f"generator {gen.name!r} returned {video.shape} {video.dtype}, expected {want} uint8 (a backend bug)"
        )
    return video


def _fit_views(ws: W.Workspace, views: list[View], gen: Generator) -> tuple[list, list[str]]:
    """[(view, fitted guidance, fitted cameras)] and the notes; a re-shot video must already fit."""
    c = gen.constraints
    info_ = A.read_cache_info(ws)
    fitted, notes = [], []
    for v in views:
        n, cams = len(v.cameras), v.cameras
        if info_.is_4d and (
            c.fit_frames(n) != n or (c.size is not None and tuple(c.size) != (cams.width, cams.height))
        ):
            want = c.fit_frames(n)
            size = f"{c.size[0]}x{c.size[1]}" if c.size else f"{cams.width}x{cams.height}"
            raise InputError(
                f"generator {gen.name!r} needs {want} frames at {size}; rerun with --frames {want} --size {size}"
            )
        g, fc, view_notes = fit_to_backend(v.guidance, cams, c)
        fitted.append((v, g, fc))
        notes += [n_ for n_ in view_notes if n_ not in notes]
    return fitted, notes


def _generate_streamed(ws: W.Workspace, gen: Generator, request: GenerateRequest, sv, fps: float, cams):
    """One photo camera from a generator that hands frames over as they are made (`streams_frames`):
    output/shot.mp4 encodes on a thread while the rest is generated (ffmpeg encodes in its own process), each
    frame near the source camera blended with the photo first. Returns (video, seconds the encoder took after
    the last frame). A failure on either side leaves no output/shot.mp4."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from shotsmith.fill import compose_source_frame
    from shotsmith.media import write_video

    done = object()
    handed: queue.SimpleQueue = queue.SimpleQueue()
    blend = {int(t): k for k, t in enumerate(sv.index)} if sv is not None else {}

    def frames():
        while (item := handed.get()) is not done:
            if isinstance(item, BaseException):
                raise RuntimeError("generation stopped before this frame") from item
            yield item

    def on_frame(t: int, frame: np.ndarray) -> None:
        if t in blend:
            compose_source_frame(frame, sv, blend[t])
        handed.put(frame)

    with ws.atomic(W.OUTPUT_VIDEO) as tmp, ThreadPoolExecutor(1, thread_name_prefix="write-shot") as pool:
        writing = pool.submit(write_video, tmp, frames(), fps, path_for_errors=str(ws.path(W.OUTPUT_VIDEO)))
        try:
            video = _check(gen, gen.generate(request, on_frame=on_frame), cams)
        except BaseException as exc:
            handed.put(exc)
            raise
        handed.put(done)
        t0 = time.perf_counter()
        writing.result()
    return video, time.perf_counter() - t0


def _write_single(ws: W.Workspace, info_: A.CacheInfo, video: np.ndarray, fps: float) -> list[str]:
    """output/shot.mp4; for a re-shot video with the source's audio, plus output/side_by_side.mp4."""
    from shotsmith.media import write_video

    if not info_.is_4d:
        return [A.write_video_artifact(ws, W.OUTPUT_VIDEO, video, fps)]
    from concurrent.futures import ThreadPoolExecutor

    from shotsmith.video import mux_audio, side_by_side_frames

    facts = info_.video

    def shot() -> None:
        with ws.atomic(W.OUTPUT_VIDEO) as tmp:
            if facts.get("has_audio"):
                silent = tmp.with_name(tmp.stem + "-silent.mp4")
                try:
                    write_video(silent, video, fps)
                    mux_audio(silent, ws.path(facts["video"]), tmp, duration=facts.get("audio_seconds"))
                finally:
                    silent.unlink(missing_ok=True)
            else:
                write_video(tmp, video, fps)

    # the shot and the side-by-side encode at once (two ffmpeg processes), the side-by-side's frames made one
    # at a time as its encoder takes them
    with ThreadPoolExecutor(1, thread_name_prefix="write-shot") as pool:
        writing = pool.submit(shot)
        try:
            frames = side_by_side_frames(A.read_cache4d_rgb(ws), video)
            A.write_video_artifact(ws, W.OUTPUT_SIDE_BY_SIDE, frames, fps)
        finally:
            writing.result()
    return [W.OUTPUT_VIDEO, W.OUTPUT_SIDE_BY_SIDE]


# ---------------------------------------------------------------------------------------------------------------
# Long shots: chunks that grow the world cache (docs/WORLD.md)


def chunk_overlap(cfg: Config, gen: Generator, chunk: int) -> int:
    """The frames each chunk repeats from the previous one (`--chunk-overlap`, else the generator's default)."""
    from shotsmith.world import default_overlap

    if cfg.chunk_overlap is not None:
        return int(cfg.chunk_overlap)
    return default_overlap(gen.constraints.frame_rule, chunk)


def chunk_frames(cfg: Config, gen: Generator, frames: int, native: bool = False) -> int | None:
    """The chunk length a shot of `frames` frames is made in (`--chunk`; with `native`, else the generator's
    native length), or None when it is made in one go."""
    from shotsmith.world import chunk_length, native_chunk

    c = gen.constraints
    default = native_chunk(gen.name, c.frame_rule, c.frames) if native else None
    overlap = cfg.chunk_overlap if cfg.chunk_overlap is not None else 1
    return chunk_length(frames, cfg.chunk, default, c.fit_frames, overlap)


def depth_function(info_: A.CacheInfo):
    """rgb -> z-depth of a generated frame with the cache's own depth backend (the embedded prior when the
    cache's depth came from a file) and its name."""
    from shotsmith.backends.depth import get_depth_backend

    name = info_.backend if info_.backend and info_.backend != "file" else "prior"
    kwargs = {"model": info_.model} if info_.model and name in ("depth-anything-v2", "moge") else {}
    backend = get_depth_backend(name, **kwargs)
    backend.load()

    def depth_of(rgb: np.ndarray) -> np.ndarray:
        return np.asarray(backend(rgb).depth, np.float32)

    return depth_of, f"{backend.name} {backend.version()}"


def _chunk_guidance(base: A.Guidance, world, cams: CameraPath) -> A.Guidance:
    """A chunk's guidance: the source cache's render with the world's added points drawn into its holes (each
    frame renders the world into its holes' bounding box only, so a frame the cache covers costs nothing)."""
    from shotsmith.render import render_points

    if not len(world):
        return base
    rgb, mask, depth = base.rgb.copy(), base.mask.copy(), base.depth.copy()
    for t in range(len(cams)):
        hole = ~base.mask[t]
        if not hole.any():
            continue
        rows, cols = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        intr = cams.intrinsics[t] - np.array([0.0, 0.0, x0, y0])
        r = render_points(
            world.points, world.colors, cams.world_from_camera[t], intr, x1 - x0, y1 - y0, radius=world.radius
        )
        crop = (slice(y0, y1), slice(x0, x1))
        use = hole[crop] & r.mask & (r.depth > 0)
        rgb[t][crop][use] = r.rgb[use]
        depth[t][crop][use] = r.depth[use]
        mask[t][crop] |= use
    return A.Guidance(rgb, mask, depth, base.object_mask)


def generate_chunked(
    ws: W.Workspace, cfg: Config, gen: Generator, view: View, template: GenerateRequest, chunk: int
) -> tuple[np.ndarray, CameraPath, list[str], dict]:
    """The shot made in overlapping chunks at the generator's size: (video, fitted cameras, notes, facts).

    Each chunk is guided by the cache plus the world's added points rendered along its part of the path, its
    overlap frames tied to the frames already made; some of its own frames are lifted into the world. A chunk
    whose key (its cameras, its guidance including the tied frames, the world it starts from, the options and
    backends) matches output/chunks/NNN.npz is read back instead of generated: a rerun resumes at the first
    missing or changed chunk."""
    from shotsmith import world as WD

    c = gen.constraints
    g, cams, notes = fit_to_backend(view.guidance, view.cameras, replace(c, frame_rule="any", frames=None))
    n = len(cams)
    overlap = chunk_overlap(cfg, gen, chunk)
    chunks = WD.plan_chunks(n, chunk, overlap)
    notes.append(
        f"{n} frames made in {len(chunks)} chunks of {chunk} (overlap {overlap}), the world cache "
        "growing from the generated frames"
    )
    depth_of, depth_name = None, ""
    out = np.zeros((n, cams.height, cams.width, 3), np.uint8)
    world = WD.WorldPoints.empty(WD.default_voxel(float(cams.intrinsics[0, 0])))
    options = (
        template.prompt,
        template.steps,
        template.strength,
        template.guidance_scale,
        cfg.lift_every,
        cfg.world_max_points,
        gen.name,
        gen.version(),
    )
    facts: list[dict] = []
    reused = 0
    # the embedded inpaint keeps the depth of its fill: its fills become cache points as they are
    if hasattr(getattr(gen, "settings", None), "keep_depth"):
        gen.settings = replace(gen.settings, keep_depth=True)
    for ch in track(chunks, f"generate ({gen.name}): {len(chunks)} chunks", total=len(chunks)):
        idx = np.arange(ch.start, ch.stop)
        cams_k = cams.select(idx)
        base = _chunk_guidance(g.take(idx), world, cams_k)
        rgb, mask, depth = WD.tie_overlap(base.rgb, base.mask, base.depth, ch, out)
        seed = template.seed + ch.index
        key = WD.chunk_key(
            ch.index, ch.start, ch.stop, cams_k.world_from_camera, cams_k.intrinsics, rgb, mask, depth,
            base.object_mask, world.digest(), seed, options,
        )  # fmt: skip
        stored = A.read_chunk(ws, ch.index)
        if (
            stored is not None
            and stored.key == key
            and stored.frames.shape == (ch.stop - ch.new, *out.shape[1:])
        ):
            out[ch.new : ch.stop] = stored.frames
            world = stored.world
            facts.append({**stored.report, "reused": True})
            reused += 1
            continue
        request = view_request(
            replace(template, seed=seed), A.Guidance(rgb, mask, depth, base.object_mask), cams_k
        )
        gen.load()
        video = _check(gen, gen.generate(request), cams_k)
        out[ch.new : ch.stop] = video[ch.overlap :]
        own = getattr(gen, "last_depth", None)  # a generator's own depth of its frames, in scene units
        own = own if isinstance(own, np.ndarray) and own.shape == video.shape[:3] else None
        if own is None and depth_of is None:
            depth_of, depth_name = depth_function(A.read_cache_info(ws))
        elif own is not None:
            depth_name = f"{gen.name}'s own fill depth"
        before = len(world)
        world, lifts = WD.lift_frames(
            video, base.mask, base.depth, cams_k, WD.lift_indices(ch, cfg.lift_every), depth_of, world,
            cfg.world_max_points, own_depth=own,
        )  # fmt: skip
        report = {
            "index": ch.index,
            "start": ch.start,
            "stop": ch.stop,
            "own_from": ch.new,
            "fill_fraction": round(float((~mask).mean()), 6),
            "points_added": len(world) - before,
            "world_points": len(world),
            "voxel": world.voxel,
            "lifted": lifts,
        }
        A.write_chunk(ws, ch.index, A.StoredChunk(key, video[ch.overlap :], world, report))
        facts.append({**report, "reused": False})
    for stale in range(len(chunks), 10_000):  # chunks of a longer plan before: gone
        p = ws.path(W.output_chunk(stale))
        if not p.exists():
            break
        p.unlink()
    return (
        out,
        cams,
        notes,
        {
            "chunks": facts,
            "chunk": chunk,
            "chunk_overlap": overlap,
            "chunks_reused": reused,
            "world_points": len(world),
            "world_voxel": world.voxel,
            "lift_depth": depth_name,
        },
    )


def _run_chunked(
    ws: W.Workspace, cfg: Config, gen: Generator, why: str, view: View, sv, template, chunk: int, t0: float
) -> W.StageResult:
    from shotsmith.fill import compose_source_view

    info_ = A.read_cache_info(ws)
    seconds_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    video, fc, notes, facts = generate_chunked(ws, cfg, gen, view, template, chunk)
    for line in notes:
        note(line)
    if (fc.width, fc.height) != (view.cameras.width, view.cameras.height):
        video = _resize_video(video, view.cameras.width, view.cameras.height)
    if sv is not None and len(sv):
        video = compose_source_view(video, sv)
    seconds_generate = time.perf_counter() - t1
    t2 = time.perf_counter()
    fps = view.cameras.fps
    outputs = [*_write_single(ws, info_, video, fps), W.OUTPUT_CHUNKS]
    before = int((template.source_depth > 0).sum()) if template.source_depth is not None else 0
    extra = {
        "generator": gen.name,
        "reason": why,
        "cameras": 1,
        "frames": len(video),
        "planned_frames": len(view.cameras),
        "size": [int(video.shape[2]), int(video.shape[1])],
        "fps": round(fps, 6),
        "notes": notes,
        "fill_fraction": round(float((~view.guidance.mask).mean()), 6),
        "source_view_frames": [0 if sv is None else len(sv)],
        "prompt": template.prompt,
        "cache_points_before": before,
        "cache_points_after": before + facts["world_points"],
        **facts,
        "seconds_read": round(seconds_read, 3),
        "seconds_generate": round(seconds_generate, 3),
        "seconds_write": round(time.perf_counter() - t2, 3),
    }
    return W.StageResult(outputs=outputs, backend_version=gen.version(), extra=extra)


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Generate every view; write output/shot.mp4, or output/cams/NN.mp4 and output/grid.mp4 for a rig."""
    from shotsmith.fill import compose_source_view
    from shotsmith.media import BackgroundWriter, grid_frames, write_video

    t0 = time.perf_counter()
    gen, why = cfg.resolve()
    info(f"generate: {gen.name} ({why})")
    if gen.name == "inpaint" and cfg.model:
        note(f"--model {cfg.model} is ignored by the embedded inpaint generator")
    views = read_views(ws, cfg)
    info_ = A.read_cache_info(ws)
    template = source_request(ws, cfg)
    svs = source_views(info_, template, views, cfg.source_fade)
    views = [with_source_view(v, sv) for v, sv in zip(views, svs, strict=True)]
    if cfg.rig or info_.is_4d:
        if cfg.chunk is not None:
            note("--chunk is ignored for rigs and re-shot videos (they are made in one go)")
    else:
        chunk = chunk_frames(cfg, gen, len(views[0].cameras))
        if chunk is not None:
            return _run_chunked(ws, cfg, gen, why, views[0], svs[0], template, chunk, t0)
    fitted, notes = _fit_views(ws, views, gen)
    if any(len(fc) != len(v.cameras) for v, _, fc in fitted):  # the output's frames are the generator's
        svs = source_views(
            info_, template, [_output_timeline(v, gen.constraints) for v in views], cfg.source_fade
        )
    for line in notes:
        note(line)
    requests = [view_request(template, g, fc) for _, g, fc in fitted]
    seconds_read = time.perf_counter() - t0

    t1 = time.perf_counter()
    videos, reports, stats = [], {}, {}
    (view0, _, fc0), sv0 = fitted[0], svs[0]
    if (
        not cfg.rig
        and not info_.is_4d
        and gen.streams_frames
        and (len(fc0), fc0.width, fc0.height)
        == (len(view0.cameras), view0.cameras.width, view0.cameras.height)
    ):
        gen.load()
        # this stage no longer needs the guidance colour (read for it alone): the output may be made in it
        request = replace(requests[0], writable_guidance=True)
        video, seconds_write = _generate_streamed(ws, gen, request, sv0, first_fps := view0.cameras.fps, fc0)
        report = getattr(gen, "last_report", None)
        return _stage_result(
            gen, why, cfg, views, fitted, svs, [video], notes, first_fps, stats,
            {view0.name: report.as_dict()} if report is not None and hasattr(report, "as_dict") else {},
            [W.OUTPUT_VIDEO], seconds_read, time.perf_counter() - t1 - seconds_write, seconds_write, template,
        )  # fmt: skip
    results = generate_views(gen, template, requests, stats)
    label = f"generate ({gen.name}): {len(views)} cameras"
    first = views[0].cameras
    with contextlib.ExitStack() as stack:
        cams_dir = writer = None
        if cfg.rig:  # each view's video is written while the next one is generated
            cams_dir = stack.enter_context(ws.atomic(W.OUTPUT_CAMS))
            cams_dir.mkdir()
            writer = stack.enter_context(BackgroundWriter())
        for (view, _, fc), sv, (video, report) in zip(
            fitted, svs, track(results, label, total=len(views)) if len(views) > 1 else results, strict=True
        ):
            video = _check(gen, video, fc)
            if (fc.width, fc.height) != (view.cameras.width, view.cameras.height):
                video = _resize_video(video, view.cameras.width, view.cameras.height)
                note(
                    f"resized the generated video back to the planned {view.cameras.width}x{view.cameras.height}"
                )
            if sv is not None and len(sv):  # the generator's own array: blended in place, not copied
                video = compose_source_view(video, sv, inplace=True)
            videos.append(video)
            if report is not None and hasattr(report, "as_dict"):
                reports[view.name] = report.as_dict()
            fps = first.fps * len(video) / len(first)  # same duration when the frame count changed
            if writer is not None:
                writer.submit(write_video, cams_dir / Path(W.output_cam(view.index)).name, video, fps)
    seconds_generate = time.perf_counter() - t1

    t2 = time.perf_counter()
    if cfg.rig:
        frames = grid_frames(videos, [v.name for v in views], cfg.grid_max_width, cfg.labels)
        outputs = [W.OUTPUT_CAMS, A.write_video_artifact(ws, W.OUTPUT_GRID, frames, fps)]
    else:
        outputs = _write_single(ws, info_, videos[0], fps)
    seconds_write = time.perf_counter() - t2
    return _stage_result(
        gen, why, cfg, views, fitted, svs, videos, notes, fps, stats, reports, outputs, seconds_read,
        seconds_generate, seconds_write, template,
    )  # fmt: skip


def _stage_result(
    gen, why, cfg, views, fitted, svs, videos, notes, fps, stats, reports, outputs, seconds_read,
    seconds_generate, seconds_write, template,
) -> W.StageResult:  # fmt: skip
    first = views[0].cameras
    extra = {
        "generator": gen.name,
        "reason": why,
        "cameras": len(views),
        "frames": len(videos[0]),
        "planned_frames": len(first),
        "size": [int(videos[0].shape[2]), int(videos[0].shape[1])],
        "fps": round(fps, 6),
        "notes": notes,
        "fill_fraction": round(
            float(np.mean([(g.mask.size - np.count_nonzero(g.mask)) / g.mask.size for _, g, _ in fitted])), 6
        ),
        "source_view_frames": [0 if sv is None else len(sv) for sv in svs],
        "prompt": template.prompt,
        "seconds_read": round(seconds_read, 3),
        "seconds_generate": round(seconds_generate, 3),
        "seconds_write": round(seconds_write, 3),
        **stats,
    }
    if reports:
        first_report = next(iter(reports.values()))
        extra["temporal_instability"] = first_report.get("temporal_instability")
        extra["inpaint" if not cfg.rig else "reports"] = first_report if not cfg.rig else reports
    return W.StageResult(outputs=outputs, backend_version=gen.version(), extra=extra)


def _reads(ws: W.Workspace, cfg: Config) -> list[str]:
    names = [W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_JSON]
    if cfg.rig:
        names.append(W.GUIDANCE_CAMS)
    else:
        names += [W.TRAJECTORY, *A.guidance_files()]
        if ws.exists(W.GUIDANCE_OBJECT_MASK):
            names.append(W.GUIDANCE_OBJECT_MASK)
    if ws.exists(W.CACHE_FRAMES) and A.cache_is_4d(ws):
        names.append(W.CACHE_FRAMES)
        video = A.read_cache_info(ws).video.get("video")
        if video:
            names.append(video)
    if ws.exists(W.CAPTION):
        names.append(W.CAPTION)
    return names


def _requires(ws: W.Workspace, cfg: Config) -> list[str]:
    names = [W.CACHE_JSON, W.CACHE_DEPTH, W.CACHE_IMAGE]
    return [*names, W.RIG_JSON] if cfg.rig else [W.TRAJECTORY, *names, *A.guidance_files()]


def _backend(cfg: Config) -> tuple[str, str]:
    gen, why = cfg.resolve()
    return gen.name, why


def _report(ws: W.Workspace, rec: W.StageRecord) -> str | None:
    extra = rec.extra
    if extra.get("skipped"):
        return None
    w, h = extra.get("size", [0, 0])
    cams = f"{extra['cameras']} cameras x " if extra.get("cameras", 1) > 1 else ""
    line = (
        f"generate: {cams}{extra.get('frames', 0)} frames at {w}x{h} in {rec.seconds:.2f} s ({rec.backend})"
    )
    ti = extra.get("temporal_instability")
    if ti is not None:
        line += f", {100 * extra.get('fill_fraction', 0):.1f}% filled, temporal instability {ti:.2f}"
    return line


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=_reads,
    requires=_requires,
    writes=(W.OUTPUT_VIDEO, W.OUTPUT_SIDE_BY_SIDE, W.OUTPUT_CAMS, W.OUTPUT_GRID, W.OUTPUT_CHUNKS),
    summary="Turn the guidance into output/shot.mp4 (or a rig's output/cams/ and grid.mp4) with a generator.",
    examples=(
        "shotsmith generate -w shots/x --generator inpaint",
        "shotsmith generate -w shots/x --rig ring:n=4,radius=0.3 --generator wan --device cuda:1",
    ),
    backend=_backend,
    version=lambda cfg: cfg.resolve()[0].version(),
    report=_report,
    records=("generate-rig",),
    record=lambda cfg: "generate-rig" if cfg.rig else NAME,
)
