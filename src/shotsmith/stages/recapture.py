"""Stage `recapture`: re-shoot a video along a new camera path (ReCamMaster's job) through a 4D cache.

Runs the pipeline's own stages on a video, each recorded in shot.json under its usual name (so
`shotsmith status` reads the same as for a photo) with `"recapture": true` in its options:

1. `build-3d-cache`: decode the video to the shot's frames (`shotsmith.video`), depth per frame (a depth backend,
   or `--depth FILE.npz` holding (T, H, W) per-frame depth), the source cameras (static, a camera file, or
   pycolmap's estimate), depth made consistent over time (`shotsmith.recapture.align_depths`), flying pixels
   dropped. Writes cache/frames.npz (the 4D cache: "depth" (T, h, w) float32 z-depth in scene units with 0 = no
   point, "seen" the same before the flying-pixel filter (float16), "rgb" (T, h, w, 3) uint8, "world_from_camera"
   (T, 4, 4), "intrinsics" (4,)), and frame 0 as a single-image cache so single-image tools keep working:
   cache/depth.npy, cache/image.png, cache/points.ply, cache/cache.json (`CacheInfo` plus the 4D keys
   `kind: "4d"`, `num_frames`, `fps`, `source_world_from_camera`, `depth_scales`, `source_camera`).
2. `plan-trajectory`: the planned path (preset, ReCamMaster number 1-10, text or file) placed relative to the
   source camera (`recapture.target_path`) -> trajectory.json + trajectory.png.
3. `render-guidance`: target frame t from source frame t's points plus the other frames' points the depth test
   accepts -> guidance/rgb.mp4, mask.mp4, depth.npz (the same artifacts as render-guidance).
4. `generate`: a generator backend fills the holes (its source view is frame 0 of the cache) ->
   output/shot.mp4 with the source's audio carried over, and output/side_by_side.mp4 (source | result).

Each part is skipped when its inputs and options did not change (`workspace.run_stage`). Workspace names come
from `shotsmith.workspace`; the geometry is `shotsmith.recapture`'s.
"""

from __future__ import annotations

import re
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from shotsmith import workspace as W
from shotsmith.console import info, note
from shotsmith.errors import FormatError, InputError

STAGE = "recapture"
#: Stage names recorded in shot.json (the pipeline's own).
PARTS = ("build-3d-cache", "plan-trajectory", "render-guidance", "generate")


@dataclass
class RecaptureOptions:
    """Options of `shotsmith recapture` (the CLI's flags)."""

    video: str
    """The user's video file (copied into input/)."""
    cam: str
    """Target camera: a preset spec (pan_right, dolly_in+pan_left...), a ReCamMaster number 1-10, a camera file,
    or director's words ("slowly push in, then pan left")."""
    frames: int | None = None
    """Shot length; None = 81, or the whole video when shorter."""
    width: int = 832
    """Shot width in pixels."""
    height: int = 480
    """Shot height in pixels."""
    fps: float | None = None
    """Shot frame rate; None keeps the source's."""
    fit: str = "crop"
    """crop (centre crop to the shot's aspect, ReCamMaster's way) or pad (letterbox; bars are filled)."""
    short: str = "error"
    """When the video is shorter than --frames: pad (hold the last frame), loop, or error."""
    source_camera: str = "static"
    """static (tripod), estimate (pycolmap, scale matched to the depth), or a camera file."""
    depth: str = "auto"
    """Depth backend (auto, prior, depth-anything-v2, moge) or a per-frame depth file (.npz/.npy, (T, H, W))."""
    model: str | None = None
    """Hub id or folder of the neural depth backend's weights."""
    fov: float | None = None
    """Horizontal field of view of the source in degrees (None: the depth model's, else 60)."""
    generator: str = "auto"
    """Generator backend that fills the holes (auto, inpaint, wan, cogvideox)."""
    target: str = "first"
    """first: the path is relative to the source's first frame (ReCamMaster); follow: it rides along with a
    moving source camera."""
    align: str = "median"
    """Depth-scale alignment over time: median, or none."""
    other_frames: int = 8
    """Other source frames that may fill each target frame (0: frame t alone, GEN3C's Cache4D)."""
    depth_tolerance: float = 0.03
    """Relative depth band of the fill's depth test."""
    filter_threshold: float = 0.05
    """Flying-pixel threshold (GEN3C's 5x5 range/mean rule); 0 keeps every point."""
    render_backend: str = "auto"
    """Point renderer: auto, numba, torch, reference."""
    footprint: str = "round"
    """Splat footprint: round (default here: smoother where a dolly magnifies the splats) or square."""
    prompt: str = ""
    """Text for text-conditioned generators."""

    def validate(self) -> None:
        from shotsmith.video import FIT_MODES, SHORT_POLICIES

        if self.fit not in FIT_MODES:
            raise InputError(f"--fit {self.fit!r}: choose one of {', '.join(FIT_MODES)}")
        if self.short not in SHORT_POLICIES:
            raise InputError(f"--short {self.short!r}: choose one of {', '.join(SHORT_POLICIES)}")
        if self.target not in ("first", "follow"):
            raise InputError(f"--target {self.target!r}: choose first or follow")
        if self.align not in ("median", "none"):
            raise InputError(f"--align {self.align!r}: choose median or none")
        if self.fov is not None and not 0 < self.fov < 180:
            raise InputError(f"--fov {self.fov}: a horizontal field of view lies between 0 and 180 degrees")
        if self.other_frames < 0:
            raise InputError(f"--other-frames {self.other_frames}: must be >= 0")
        if not self.cam or not str(self.cam).strip():
            raise InputError("--cam is empty; give a preset (pan_right), a number 1-10, a file or a text")
        sc = self.source_camera
        if sc not in ("static", "estimate") and not Path(sc).exists():
            raise InputError(
                f"--source-camera {sc!r}: not static, estimate, or an existing camera file; check the path"
            )


# ---------------------------------------------------------------------------------------------------------------
# --cam: preset, ReCamMaster number, file or text


def classify_cam(spec: str) -> tuple[str, str]:
    """("preset" | "file" | "text", value) for a --cam value. Numbers 1-10 are ReCamMaster's cameras, in scene
    units (`recammaster:N:scene`: its 4 m look-at distance becomes the subject distance 1.0)."""
    s = str(spec).strip()
    if re.fullmatch(r"(cam)?0*([1-9]|10)", s, flags=re.IGNORECASE):
        n = int(re.sub(r"\D", "", s))
        return "preset", f"recammaster:{n}:scene"
    if re.fullmatch(r"\d+", s):
        raise InputError(f"--cam {s}: ReCamMaster's cameras are numbered 1 to 10")
    if Path(s).is_file():
        return "file", s
    if re.search(r"\s", s):
        return "text", s
    return "preset", s


def plan_target(spec: str, frames: int, fps: float, width: int, height: int, intrinsics: np.ndarray):
    """The planned path (frame 0 at the identity) for a --cam value, with the source's focal length."""
    from shotsmith.camera import fov_from_focal
    from shotsmith.stages.plan_trajectory import PlanTrajectoryConfig, make_path

    kind, value = classify_cam(spec)
    hfov = fov_from_focal(float(intrinsics[0]), width)
    cfg = PlanTrajectoryConfig(
        cam=value if kind == "preset" else None,
        camera=value if kind == "text" else None,
        trajectory=value if kind == "file" else None,
        frames=frames,
        fps=fps,
        width=width,
        height=height,
        hfov_deg=hfov if kind != "file" else None,
    )
    cam = make_path(cfg)
    if len(cam) != frames:
        from shotsmith.camera import resample

        cam = resample(cam, frames)
    return cam


# ---------------------------------------------------------------------------------------------------------------
# Depth for every frame


def load_depth_video(path: str | Path, clip) -> np.ndarray:
    """(T, H, W) float32 raw depth of the shot's frames from a .npz ("depth" key, else the first array) or .npy
    holding one map per frame of the video at the shot's frame rate, from its start: (N >= available, h, w) with
    the source's aspect (fitted like the pixels) or the shot's size (used as is). A single (h, w) map is used for
    every frame (a static scene)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--depth {path}: no such file; give a .npz or .npy with (T, H, W) depth per frame")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                keys = list(data.keys())
                if not keys:
                    raise InputError(f"--depth {path}: the .npz holds no array; store it under 'depth'")
                arr = data["depth" if "depth" in keys else keys[0]]
        else:
            arr = data
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"--depth {path}: not a readable numpy file ({exc})") from exc
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"--depth {path}: expected (T, H, W) depth per frame, got shape {arr.shape}")
    t_, w_, h_ = len(clip.frames), *clip.fit.target_size
    need = int(clip.source_index.max()) + 1
    if len(arr) == 1:
        idx = np.zeros(t_, int)
    elif len(arr) >= need:
        idx = clip.source_index
    else:
        raise InputError(
            f"--depth {path}: {len(arr)} depth maps for a shot that uses {need} frames of the video; give one map "
            "per frame at the shot's frame rate"
        )
    out = np.zeros((t_, h_, w_), np.float32)
    sw, sh = clip.fit.source_size
    for k, i in enumerate(idx):
        d = np.where(np.isfinite(arr[i]) & (arr[i] > 0), arr[i], 0).astype(np.float32)
        if d.shape == (h_, w_):
            out[k] = d
            continue
        if abs(d.shape[1] / d.shape[0] - sw / sh) > 0.01 * sw / sh + 1.0 / d.shape[0]:
            raise InputError(
                f"--depth {path}: maps of {d.shape[1]}x{d.shape[0]} match neither the video ({sw}x{sh}) nor the "
                f"shot ({w_}x{h_})"
            )
        out[k] = clip.fit.apply_to_depth(d)
    return out


def depth_for_frames(frames: np.ndarray, backend) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(T, H, W) float32 raw depth of each frame from a depth backend, the median of the intrinsics it estimated
    ((4,) or None) and its notes."""
    from shotsmith.console import track
    from shotsmith.geometry import sanitize_depth

    backend.load()
    t_, h, w = frames.shape[:3]
    out = np.zeros((t_, h, w), np.float32)
    intr, notes = [], []
    for t in track(range(t_), f"depth ({backend.name})", total=t_):
        res = backend(frames[t])
        d, _ = sanitize_depth(res.depth)
        if d.shape != (h, w):
            raise InputError(f"depth backend {backend.name!r} returned {d.shape} for a {h}x{w} frame")
        if res.mask is not None:
            d = np.where(res.mask, d, np.float32(0))
        out[t] = d
        if res.intrinsics is not None:
            intr.append(np.asarray(res.intrinsics, np.float64).reshape(4))
        for n in res.notes:
            if n not in notes:
                notes.append(n)
    return out, (np.median(np.stack(intr), axis=0) if intr else None), notes


# ---------------------------------------------------------------------------------------------------------------
# The 4D cache on disk


def _save_npz(path: Path, arrays: dict[str, np.ndarray], level: int = 1) -> None:
    """An .npz like numpy's savez_compressed, with a fast deflate level (the 4D cache is large)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)


def load_cache4d(ws: W.Workspace):
    """The `recapture.Cache4D` of cache/frames.npz (WorkspaceError when recapture has not built it)."""
    from shotsmith.recapture import Cache4D

    p = ws.require(W.CACHE_FRAMES, "recapture")
    try:
        with np.load(p, allow_pickle=False) as data:
            return Cache4D(
                depth=data["depth"],
                rgb=data["rgb"],
                world_from_camera=data["world_from_camera"],
                intrinsics=data["intrinsics"],
                seen=data["seen"].astype(np.float32) if "seen" in data else None,
            )
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise FormatError(
            f"{p}: not a readable 4D cache ({exc}); rerun `shotsmith recapture --force`"
        ) from exc


@dataclass
class _Memo:
    """Arrays handed from one part to the next within one run (a skipped part leaves them to be read back)."""

    clip: object = None
    cache: object = None
    target: object = None
    video: object = None
    timings: dict = field(default_factory=dict)


def _source_cameras(opts: RecaptureOptions, clip, depth0: np.ndarray, intrinsics, notes: list[str]):
    """(T, 4, 4) source poses in scene units (frame 0 = identity) and facts."""
    from shotsmith.camera import relative_to_first, resample
    from shotsmith.recapture import estimate_cameras, match_pose_scale, static_cameras

    t_ = len(clip.frames)
    if opts.source_camera == "static":
        return static_cameras(t_), {"source_camera": "static"}
    if opts.source_camera == "estimate":
        raw, facts = estimate_cameras(clip.frames, intrinsics)
    else:
        from shotsmith.formats import read_camera_file

        cam = relative_to_first(read_camera_file(opts.source_camera))
        need = int(clip.source_index.max()) + 1
        if len(cam) >= need:
            raw = cam.world_from_camera[clip.source_index]
        else:
            notes.append(f"--source-camera {opts.source_camera}: {len(cam)} poses resampled to {t_} frames")
            raw = resample(cam, t_).world_from_camera
        facts = {"source_camera": "file", "file": opts.source_camera}
    scale = match_pose_scale(clip.frames, depth0, raw, intrinsics)
    poses = raw.copy()
    poses[:, :3, 3] *= scale
    facts["pose_scale"] = scale
    return poses, facts


def _build(ws: W.Workspace, opts: RecaptureOptions, video_name: str, backend, memo: _Memo) -> W.StageResult:
    from shotsmith.camera import default_intrinsics
    from shotsmith.geometry import choose_intrinsics, unproject_depth
    from shotsmith.media import write_image
    from shotsmith.ply import write_points
    from shotsmith.recapture import AlignMode, AlignOptions, align_depths, build_cache4d
    from shotsmith.stages.build_cache import CacheInfo

    clip = memo.clip
    t0 = time.perf_counter()
    notes: list[str] = []
    if backend is None:
        raw = load_depth_video(opts.depth, clip)
        model_intr = None
    else:
        raw, model_intr, notes = depth_for_frames(clip.frames, backend)
    memo.timings["depth_s"] = round(time.perf_counter() - t0, 3)
    w, h = clip.fit.target_size
    if opts.fov is None and model_intr is None:
        sw, sh = clip.fit.source_size
        intrinsics, fov_source = clip.fit.intrinsics(default_intrinsics(sw, sh)), "default"
    else:
        intrinsics, fov_source = choose_intrinsics(w, h, opts.fov, None, model_intr)
    content = clip.content_mask
    t1 = time.perf_counter()
    from shotsmith.geometry import subject_depth

    d0 = np.where(content, raw[0], 0)
    if not (d0 > 0).any():
        raise InputError(f"{ws.path(video_name)}: no valid depth in frame 0; try another --depth")
    scale0 = subject_depth(d0)
    poses, cam_facts = _source_cameras(opts, clip, (d0 / scale0).astype(np.float32), intrinsics, notes)
    memo.timings["cameras_s"] = round(time.perf_counter() - t1, 3)
    t2 = time.perf_counter()
    aligned, report = align_depths(
        raw, clip.frames, poses, intrinsics, AlignOptions(mode=cast(AlignMode, opts.align)), valid=content
    )
    cache = build_cache4d(aligned, clip.frames, poses, intrinsics, opts.filter_threshold, valid=content)
    memo.timings["align_s"] = round(time.perf_counter() - t2, 3)
    memo.cache = cache

    t3 = time.perf_counter()
    with ws.atomic(W.CACHE_FRAMES) as tmp:
        _save_npz(
            tmp,
            {
                "depth": cache.depth,
                "seen": cache.seen.astype(np.float16),
                "rgb": cache.rgb,
                "world_from_camera": cache.world_from_camera,
                "intrinsics": cache.intrinsics,
                "fps": np.float64(clip.fps),
            },
        )
    depth0 = cache.depth[0]
    with ws.atomic(W.CACHE_DEPTH) as tmp, open(tmp, "wb") as f:
        np.save(f, depth0, allow_pickle=False)
    with ws.atomic(W.CACHE_IMAGE) as tmp:
        write_image(tmp, cache.rgb[0])
    keep = depth0 > 0
    with ws.atomic(W.CACHE_POINTS) as tmp:
        write_points(tmp, unproject_depth(depth0, intrinsics)[keep], cache.rgb[0][keep])
    info_json = CacheInfo(
        width=w,
        height=h,
        intrinsics=[float(x) for x in intrinsics],
        scale_to_backend_units=float(scale0),
        backend_units="relative",
        backend=backend.name if backend is not None else "file",
        backend_version=backend.version() if backend is not None else "",
        model=getattr(backend, "model", "") if backend is not None else str(opts.depth),
        image=W.CACHE_IMAGE,
        num_points=int(keep.sum()),
        filter_threshold=float(opts.filter_threshold),
        fov_source=fov_source,  # type: ignore[arg-type]
        subject_distance_backend_units=float(scale0),
        source_width=clip.info.width,
        source_height=clip.info.height,
        num_flying_pixels=int(((cache.seen[0] > 0) & ~keep).sum()),
    ).to_json()
    info_json.update(
        {
            "kind": "4d",
            "video": video_name,
            "num_frames": len(cache),
            "fps": clip.fps,
            "fit": asdict(clip.fit),
            "source_world_from_camera": cache.world_from_camera.tolist(),
            "depth_scales": report.scales,
            "shared_fraction": report.shared_fraction,
            **cam_facts,
        }
    )
    ws.write_json(W.CACHE_JSON, info_json)
    memo.timings["write_cache_s"] = round(time.perf_counter() - t3, 3)
    for line in notes:
        note(line)
    return W.StageResult(
        outputs=[W.CACHE_FRAMES, W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_POINTS, W.CACHE_JSON],
        backend_version=info_json["backend_version"],
        extra={"frames": len(cache), "notes": notes, **cam_facts, **memo.timings},
    )


def _plan(ws: W.Workspace, opts: RecaptureOptions, memo: _Memo) -> W.StageResult:
    from shotsmith.formats import write_trajectory
    from shotsmith.plot import plot_trajectory
    from shotsmith.recapture import target_path

    cache = memo.cache if memo.cache is not None else load_cache4d(ws)
    clip = memo.clip
    w, h = cache.size
    plan = plan_target(opts.cam, len(cache), clip.fps, w, h, cache.intrinsics)
    target = target_path(plan, cache.world_from_camera, opts.target)  # type: ignore[arg-type]
    target.meta = {**plan.meta, "recapture": True, "target_mode": opts.target, "cam": opts.cam}
    memo.target = target
    with ws.atomic(W.TRAJECTORY) as tmp:
        write_trajectory(tmp, target)
    with ws.atomic(W.TRAJECTORY_PNG) as tmp:
        plot_trajectory(target, tmp)
    return W.StageResult(
        outputs=[W.TRAJECTORY, W.TRAJECTORY_PNG],
        extra={"frames": len(target), "fps": target.fps, "size": [w, h], "source": target.meta.get("source")},
    )


def _render(ws: W.Workspace, opts: RecaptureOptions, memo: _Memo) -> W.StageResult:
    from shotsmith.formats import read_trajectory
    from shotsmith.recapture import FillOptions, render_cache4d
    from shotsmith.render import RenderSettings

    cache = memo.cache if memo.cache is not None else load_cache4d(ws)
    target = memo.target if memo.target is not None else read_trajectory(ws.path(W.TRAJECTORY))
    t0 = time.perf_counter()
    video, report = render_cache4d(
        cache,
        target,
        FillOptions(other_frames=opts.other_frames, depth_tolerance=opts.depth_tolerance),
        RenderSettings(backend=opts.render_backend, footprint=opts.footprint),  # type: ignore[arg-type]
        progress="render (4D cache)",
    )
    memo.timings["render_s"] = round(time.perf_counter() - t0, 3)
    memo.video = video
    t1 = time.perf_counter()
    from shotsmith.stages.render_guidance import write_guidance

    outputs = write_guidance(ws, video, target.fps)
    memo.timings["write_guidance_s"] = round(time.perf_counter() - t1, 3)
    return W.StageResult(
        outputs=outputs,
        extra={
            "frames": len(video),
            "coverage": round(float(video.mask.mean()), 4),
            "borrowed_points_mean": round(float(np.mean(report.borrowed_points)), 1),
            "render_seconds": memo.timings["render_s"],
        },
    )


def _read_guidance(ws: W.Workspace):
    from shotsmith.media import read_mask_video, read_video
    from shotsmith.render import RenderedVideo

    rgb, _ = read_video(ws.require(W.GUIDANCE_RGB, "recapture"))
    mask = read_mask_video(ws.require(W.GUIDANCE_MASK, "recapture"))
    with np.load(ws.require(W.GUIDANCE_DEPTH, "recapture"), allow_pickle=False) as data:
        depth = data["depth"].astype(np.float32)
    return RenderedVideo(rgb=rgb, mask=mask, depth=np.where(mask, depth, 0).astype(np.float32))


def _generate(ws: W.Workspace, opts: RecaptureOptions, video_name: str, gen, memo: _Memo) -> W.StageResult:
    from shotsmith.backends.generate import GenerateRequest
    from shotsmith.formats import read_trajectory
    from shotsmith.media import write_video
    from shotsmith.video import mux_audio, side_by_side

    clip = memo.clip
    cache = memo.cache if memo.cache is not None else load_cache4d(ws)
    target = memo.target if memo.target is not None else read_trajectory(ws.path(W.TRAJECTORY))
    guidance = memo.video if memo.video is not None else _read_guidance(ws)
    n = len(target)
    c = gen.constraints
    if c.fit_frames(n) != n or (c.size is not None and tuple(c.size) != (target.width, target.height)):
        want = c.fit_frames(n)
        size = f"{c.size[0]}x{c.size[1]}" if c.size else f"{target.width}x{target.height}"
        raise InputError(
            f"generator {gen.name!r} needs {want} frames at {size}; rerun with --frames {want} --size {size}"
        )
    request = GenerateRequest(
        guidance_rgb=guidance.rgb,
        guidance_mask=guidance.mask,
        guidance_depth=guidance.depth,
        cameras=target,
        prompt=opts.prompt,
        source_rgb=cache.rgb[0],
        source_depth=cache.depth[0],
        source_intrinsics=cache.intrinsics,
        source_world_from_camera=cache.world_from_camera[0],
        extra={"source_video": clip.frames, "recapture": True},
    )
    t0 = time.perf_counter()
    gen.load()
    out = np.asarray(gen.generate(request), dtype=np.uint8)
    memo.timings["generate_s"] = round(time.perf_counter() - t0, 3)
    t1 = time.perf_counter()
    audio = clip.info.has_audio
    with ws.atomic(W.OUTPUT_VIDEO) as tmp:
        if audio:
            silent = tmp.with_name(tmp.stem + "-silent.mp4")
            try:
                write_video(silent, out, target.fps)
                mux_audio(silent, ws.path(video_name), tmp, duration=clip.audio_seconds)
            finally:
                silent.unlink(missing_ok=True)
        else:
            write_video(tmp, out, target.fps)
    with ws.atomic(W.OUTPUT_SIDE_BY_SIDE) as tmp:
        write_video(tmp, side_by_side(clip.frames, out), target.fps)
    memo.timings["write_output_s"] = round(time.perf_counter() - t1, 3)
    report = getattr(gen, "last_report", None)
    extra = {"frames": n, "audio": audio, "seconds": memo.timings["generate_s"]}
    if report is not None and hasattr(report, "as_dict"):
        extra["report"] = report.as_dict()
    return W.StageResult(
        outputs=[W.OUTPUT_VIDEO, W.OUTPUT_SIDE_BY_SIDE], backend_version=gen.version(), extra=extra
    )


@dataclass
class RecaptureResult:
    """What `recapture` did."""

    output: Path
    """output/shot.mp4."""
    records: dict
    """Part name -> `StageRecord`."""
    timings: dict
    """Seconds per part of this run (decode, depth, cameras, align, render, generate, writing)."""
    notes: list[str]
    """Notes printed (decoding, resampling...)."""


def recapture(ws: W.Workspace, opts: RecaptureOptions, *, force: bool = False) -> RecaptureResult:
    """Run the whole recapture on a workspace: decode, 4D cache, trajectory, guidance, generation.
    Each part is skipped when nothing it depends on changed (unless `force`)."""
    from shotsmith.backends.depth import is_depth_file, resolve_depth
    from shotsmith.backends.generate import resolve_generator
    from shotsmith.video import DecodeOptions, decode_video

    opts.validate()
    kind, value = classify_cam(opts.cam)
    if kind == "preset":  # fail early on an unknown preset, with the presets' own suggestions
        from shotsmith.presets import path_from_spec

        path_from_spec(value, frames=2)
    decode = DecodeOptions(
        frames=opts.frames,
        fps=opts.fps,
        width=opts.width,
        height=opts.height,
        fit=opts.fit,  # type: ignore[arg-type]
        short=opts.short,  # type: ignore[arg-type]
    )
    decode.validate()
    memo = _Memo()
    t0 = time.perf_counter()
    clip = decode_video(opts.video, decode)
    memo.timings["decode_s"] = round(time.perf_counter() - t0, 3)
    memo.clip = clip
    for line in clip.notes:
        note(line)
    file_depth = is_depth_file(opts.depth)
    backend = None if file_depth else resolve_depth(opts.depth, model=opts.model)[0]
    if file_depth:
        info(f"depth: [bold]file[/bold] (per-frame depth from {opts.depth})")
    gen, why = resolve_generator(opts.generator)
    info(f"generator: [bold]{gen.name}[/bold] ({why})")

    ws.create()
    records: dict = {}
    with ws.locked():
        video_name = ws.copy_input(opts.video)
        ws.update_request(
            video=video_name, cam=opts.cam, kind="recapture", width=opts.width, height=opts.height
        )
        common = {"recapture": True}
        decode_opts = {
            "frames": len(clip.frames),
            "fps": clip.fps,
            "width": opts.width,
            "height": opts.height,
            "fit": opts.fit,
            "short": opts.short,
        }
        external: dict = {}
        if file_depth:
            external["depth"] = opts.depth
        if opts.source_camera not in ("static", "estimate"):
            external["source_camera"] = opts.source_camera
        cache_opts = {
            **common,
            **decode_opts,
            "depth": opts.depth,
            "model": opts.model,
            "fov": opts.fov,
            "source_camera": opts.source_camera,
            "align": opts.align,
            "filter_threshold": opts.filter_threshold,
        }
        records["build-3d-cache"] = W.run_stage(
            ws,
            "build-3d-cache",
            lambda: _build(ws, opts, video_name, backend, memo),
            options=cache_opts,
            inputs=[video_name],
            external=external or None,
            backend=backend.name if backend is not None else "file",
            force=force,
        )
        kind, value = classify_cam(opts.cam)
        records["plan-trajectory"] = W.run_stage(
            ws,
            "plan-trajectory",
            lambda: _plan(ws, opts, memo),
            options={**common, "cam": opts.cam, "target": opts.target},
            inputs=[W.CACHE_JSON],
            external={"cam": value} if kind == "file" else None,
            backend=kind,
            force=force,
        )
        from shotsmith.render import resolve_backend

        render_backend = resolve_backend(opts.render_backend)
        records["render-guidance"] = W.run_stage(
            ws,
            "render-guidance",
            lambda: _render(ws, opts, memo),
            options={
                **common,
                "other_frames": opts.other_frames,
                "depth_tolerance": opts.depth_tolerance,
                "backend": opts.render_backend,
                "footprint": opts.footprint,
            },
            inputs=[W.TRAJECTORY, W.CACHE_FRAMES],
            backend=render_backend,
            force=force,
        )
        records["generate"] = W.run_stage(
            ws,
            "generate",
            lambda: _generate(ws, opts, video_name, gen, memo),
            options={**common, "generator": opts.generator, "prompt": opts.prompt},
            inputs=[
                video_name,
                W.TRAJECTORY,
                W.GUIDANCE_RGB,
                W.GUIDANCE_MASK,
                W.GUIDANCE_DEPTH,
                W.CACHE_FRAMES,
            ],
            backend=gen.name,
            force=force,
        )
    return RecaptureResult(
        output=ws.path(W.OUTPUT_VIDEO), records=records, timings=dict(memo.timings), notes=list(clip.notes)
    )


def default_workspace(video: str | Path, cam: str, root: str | Path = "shots") -> Path:
    """shots/<slug of the video's name and the camera>/."""
    stem = Path(video).stem
    kind, value = classify_cam(cam)
    label = Path(value).stem if kind == "file" else value
    slug = re.sub(r"[^a-z0-9]+", "-", f"{stem} {label}".lower()).strip("-")[:60].strip("-") or "recapture"
    return Path(root) / slug


__all__ = [
    "PARTS",
    "RecaptureOptions",
    "RecaptureResult",
    "classify_cam",
    "default_workspace",
    "depth_for_frames",
    "load_cache4d",
    "load_depth_video",
    "plan_target",
    "recapture",
]
