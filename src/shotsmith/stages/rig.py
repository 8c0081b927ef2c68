"""Stages `render-guidance-rig` and `generate-rig`: a multi-camera shot (SynCamMaster's job) from one cache.

`render-guidance-rig` builds the rig (`shotsmith.rigs.load_rig`), gives every camera its path over the shot
(`rigs.rig_paths`: the planned move of trajectory.json applied to each camera in its own frame), checks that no
camera is inside the subject or behind the cache's surface, and renders every camera from the SAME cache (the
single-image point cache plus inserted objects, or the 4D cache of `recapture`) at the same instants. It writes
the folder guidance/cams/ atomically (names below): per camera NN (01, 02, ... in the rig's order) rgb.mp4,
mask.mp4, depth.npz (render-guidance's formats) and trajectory.json (our trajectory format), plus rig.json (the
rig: spec, names, folders) and camera_extrinsics.json (the rig in SynCamMaster's Unreal JSON, `shotsmith convert`
reads it back).

`generate-rig` fills every view with one generator and writes output/cams/NN.mp4 (same frame count, same fps)
and output/grid.mp4 (a labelled mosaic). With the embedded `inpaint` backend the fill layers are the same for
every view: they are built from the source cache, and the size-dependent knobs (disocclusion band, outpaint
padding) are computed once from ALL the rig's cameras and pinned, so a region no camera sees is filled once in
3D and every view shows that same fill. Diffusion backends (`wan`, `cogvideox`) run the views in batches through
one guided denoising loop (`generate_views`), each view starting from initial noise that is shared where views see
the same 3D point (a noise grid on the cache's source camera; docs/RIGS.md).

Both stages are recorded in shot.json under their own names (so the single-camera records stay valid), with the
rig spec in their options; they skip themselves when nothing changed (`workspace.run_stage`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from shotsmith import workspace as W
from shotsmith.camera import CameraPath, concatenate
from shotsmith.console import track
from shotsmith.errors import InputError, WorkspaceError
from shotsmith.rigs import Rig, check_clear, load_rig, rig_paths, split_spec
from shotsmith.stages.render_guidance import GuidanceOptions, object_inputs, save_depth

STAGE_RENDER = "render-guidance-rig"
STAGE_GENERATE = "generate-rig"
RIG_SCHEMA_VERSION = 1

# Workspace names of the rig artifacts (all under workspace.GUIDANCE_CAMS / OUTPUT_CAMS).
RIG_JSON = W.RIG_JSON
RIG_UE_JSON = W.RIG_UE_JSON
CAM_RGB, CAM_MASK, CAM_DEPTH, CAM_TRAJECTORY = "rgb.mp4", "mask.mp4", "depth.npz", "trajectory.json"
#: Unreal-JSON centimetres per scene unit when the rig has no metric scale (SynCamMaster divides by 200).
DEFAULT_UE_SCALE = 200.0


guidance_cam_dir = W.guidance_cam_dir


def guidance_cam(index: int, leaf: str) -> str:
    """Workspace name of one guidance file of camera `index` (leaf: rgb.mp4, mask.mp4, depth.npz, trajectory.json)."""
    return f"{guidance_cam_dir(index)}/{leaf}"


# ---------------------------------------------------------------------------------------------------------------
# Options


@dataclass
class RigRenderOptions:
    """Options of `render-guidance-rig` (`--rig` on render-guidance)."""

    rig: str
    """Rig spec: a name of `shotsmith rigs` with parameters (ring:n=4,radius=0.3), a rig .toml or a camera file."""
    guidance: GuidanceOptions = field(default_factory=GuidanceOptions)
    """Renderer options, as render-guidance's (frames_png is ignored)."""


@dataclass
class RigGenerateOptions:
    """Options of `generate-rig` (`--rig` on generate)."""

    generator: str = "auto"
    """Generator backend: auto, inpaint, wan or cogvideox."""
    model: str | None = None
    """Hub id or local folder of a neural generator's weights."""
    steps: int = 30
    """Denoising steps (neural)."""
    seed: int = 0
    """Random seed: of the noise shared between views (diffusion backends)."""
    strength: float = 1.0
    """Denoising strength (neural)."""
    guidance_scale: float = 5.0
    """Text guidance scale (neural)."""
    grid_max_width: int = 1280
    """Largest width of output/grid.mp4 in pixels (an overview; each camera also has its own full-size video);
    tiles are scaled down to fit."""
    labels: bool = True
    """Write each camera's name on its tile of the grid."""

    def validate(self) -> None:
        if self.grid_max_width < 16:
            raise InputError(f"grid width {self.grid_max_width}: use at least 16 pixels (default 1280)")
        if self.steps < 1:
            raise InputError(f"--steps {self.steps}: must be at least 1")


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def _is_4d(ws: W.Workspace) -> bool:
    if not ws.exists(W.CACHE_FRAMES):
        return False
    data = ws.read_json(W.CACHE_JSON, "build-3d-cache")
    return data.get("kind") == "4d"


def _rig_external(spec: str) -> dict[str, str]:
    target, _ = split_spec(spec)
    return {"rig": target} if Path(target).is_file() else {}


@dataclass
class _Scene:
    """What every camera is rendered from (loaded once): the point scene, or the 4D cache of a recapture."""

    scene: object | None = None
    cache4d: object | None = None


def _load_scene(ws: W.Workspace, opts: GuidanceOptions) -> _Scene:
    """The point cache with its objects (as render-guidance loads it), or the 4D cache."""
    if _is_4d(ws):
        from shotsmith.stages.recapture import load_cache4d

        return _Scene(cache4d=load_cache4d(ws))
    from shotsmith.stages.render_guidance import load_scene_with_objects

    return _Scene(scene=load_scene_with_objects(ws, opts.radius_factor))


class _Writer:
    """Writes files on one background thread while the next view is rendered or generated (ffmpeg encodes in
    its own process, so this overlaps real work); `__exit__` waits and re-raises the first error."""

    def __enter__(self) -> _Writer:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotsmith-writer")
        self._futures: list = []
        return self

    def submit(self, fn, *args) -> None:
        while len([f for f in self._futures if not f.done()]) >= 2:  # bound the frames held in memory
            next(f for f in self._futures if not f.done()).result()
        self._futures.append(self._pool.submit(fn, *args))

    def __exit__(self, *exc) -> None:
        try:
            for f in self._futures:
                f.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def render_camera(scene: _Scene, cam: CameraPath, opts: GuidanceOptions, label: str | None = None):
    """(RenderedVideo, layered-object mask (T, H, W) bool or None) of one camera path."""
    settings = opts.settings()
    if scene.cache4d is not None:
        from shotsmith.recapture import render_cache4d

        video, _ = render_cache4d(scene.cache4d, cam, settings=settings, progress=label)
        return video, None
    from shotsmith.stages.render_guidance import render_scene

    return render_scene(scene.scene, cam, settings, progress=label)


def write_camera_guidance(folder: Path, video, object_mask, cam: CameraPath) -> None:
    """rgb.mp4, mask.mp4, depth.npz (render-guidance's formats), object_mask.mp4 when given, trajectory.json."""
    from shotsmith.formats import write_trajectory
    from shotsmith.media import write_video

    folder.mkdir(parents=True, exist_ok=True)
    write_video(folder / CAM_RGB, video.rgb, cam.fps)
    write_video(folder / CAM_MASK, video.mask.astype(np.uint8) * 255, cam.fps)
    save_depth(folder / CAM_DEPTH, video)
    if object_mask is not None:
        write_video(folder / "object_mask.mp4", object_mask.astype(np.uint8) * 255, cam.fps)
    write_trajectory(folder / CAM_TRAJECTORY, cam)


def ue_scale_for(rig: Rig) -> float:
    """Centimetres per scene unit in the exported Unreal JSON: the rig's metric scale, else SynCamMaster's 200."""
    return 100.0 * rig.metres_per_unit if rig.metres_per_unit else DEFAULT_UE_SCALE


def plan_rig(ws: W.Workspace, rig: Rig) -> dict[str, CameraPath]:
    """Every camera's path over the shot (trajectory.json's move), checked against the subject and the cache."""
    from shotsmith.formats import read_trajectory

    base = read_trajectory(ws.require(W.TRAJECTORY, "plan-trajectory"))
    paths = rig_paths(rig, base)
    subject = base.world_from_camera[0] @ np.append(rig.subject, 1.0)
    depth = intr = pose = None
    if ws.exists(W.CACHE_DEPTH):
        from shotsmith.stages.build_cache import CacheInfo

        info = CacheInfo.read(ws)
        depth = np.load(ws.path(W.CACHE_DEPTH), allow_pickle=False)
        intr, pose = info.intrinsics_array, info.world_from_camera_array
    check_clear(
        rig,
        {name: p.centers for name, p in paths.items()},
        depth=depth,
        intrinsics=intr,
        source_world_from_camera=pose,
        subject=subject[:3],
    )
    return paths


def _render(ws: W.Workspace, rig: Rig, opts: RigRenderOptions) -> W.StageResult:
    from shotsmith.formats import write_camera_file

    start = time.perf_counter()
    paths = plan_rig(ws, rig)
    scene = _load_scene(ws, opts.guidance)
    load_s = time.perf_counter() - start
    coverage = {}
    render_s = write_s = 0.0
    with ws.atomic(W.GUIDANCE_CAMS) as tmp, _Writer() as writer:
        tmp.mkdir()
        cams = []
        items = list(paths.items())
        for index, (name, cam) in enumerate(track(items, f"render-guidance: {len(items)} cameras"), start=1):
            t0 = time.perf_counter()
            video, object_mask = render_camera(scene, cam, opts.guidance)
            t1 = time.perf_counter()
            folder = Path(guidance_cam_dir(index)).name
            writer.submit(write_camera_guidance, tmp / folder, video, object_mask, cam)
            render_s += t1 - t0
            write_s += time.perf_counter() - t1
            coverage[name] = round(float(video.mask.mean()), 4)
            cams.append(
                {"index": index, "name": name, "folder": guidance_cam_dir(index), "coverage": coverage[name]}
            )
        scale = ue_scale_for(rig)
        write_camera_file(tmp / Path(RIG_UE_JSON).name, dict(paths), "ue", ue_scale=scale)
        first = next(iter(paths.values()))
        rig_json = {
            "schema_version": RIG_SCHEMA_VERSION,
            "spec": rig.spec,
            "name": rig.name,
            "description": rig.description,
            "params": rig.params,
            "metres_per_unit": rig.metres_per_unit,
            "ue_scale": scale,
            "frames": len(first),
            "fps": first.fps,
            "size": [first.width, first.height],
            "cameras": cams,
        }
        (tmp / Path(RIG_JSON).name).write_text(json.dumps(W.to_jsonable(rig_json), indent=2) + "\n")
    return W.StageResult(
        outputs=[W.GUIDANCE_CAMS],
        backend_version="",
        extra={
            "cameras": len(paths),
            "frames": len(first),
            "size": [first.width, first.height],
            "coverage": coverage,
            "load_seconds": round(load_s, 3),
            "render_seconds": round(render_s, 3),
            "write_seconds": round(write_s, 3),
        },
    )


def render_guidance_rig(ws: W.Workspace, opts: RigRenderOptions, *, force: bool = False) -> W.StageRecord:
    """Run `render-guidance-rig` (skipped when rig, trajectory, cache, objects and options are unchanged)."""
    from shotsmith.render import resolve_backend

    opts.guidance.settings()
    load_rig(opts.rig)  # a bad spec fails before the lock is taken
    backend = resolve_backend(opts.guidance.backend)
    inputs = [W.TRAJECTORY, W.CACHE_POINTS, W.CACHE_JSON, W.CACHE_DEPTH, *object_inputs(ws)]
    if ws.exists(W.CACHE_FRAMES):
        inputs.append(W.CACHE_FRAMES)
    return W.run_stage(
        ws,
        STAGE_RENDER,
        lambda: _render(ws, load_rig(opts.rig), opts),
        options={"rig": opts.rig, **asdict(opts.guidance)},
        inputs=inputs,
        external=_rig_external(opts.rig),
        backend=backend,
        force=force,
    )


# ---------------------------------------------------------------------------------------------------------------
# Generation


@dataclass
class CameraGuidance:
    """One camera's guidance read back from guidance/cams/NN."""

    index: int
    name: str
    cameras: CameraPath
    rgb: np.ndarray
    """(T, H, W, 3) uint8."""
    mask: np.ndarray
    """(T, H, W) bool."""
    depth: np.ndarray
    """(T, H, W) float32, 0 where empty."""
    object_mask: np.ndarray | None = None


def read_rig_json(ws: W.Workspace) -> dict:
    data = ws.read_json(RIG_JSON, "render-guidance --rig RIG")
    if int(data.get("schema_version", 0)) > RIG_SCHEMA_VERSION:
        raise WorkspaceError(
            f"{ws.path(RIG_JSON)}: written by a newer shotsmith; upgrade or rerun render-guidance"
        )
    return data


def read_camera_guidance(ws: W.Workspace, entry: dict) -> CameraGuidance:
    """The guidance of one rig.json camera entry."""
    from shotsmith.formats import read_trajectory
    from shotsmith.stages.generate import read_guidance_files

    folder = entry["folder"]
    hint = "render-guidance --rig RIG"
    g = read_guidance_files(
        ws,
        f"{folder}/{CAM_RGB}",
        f"{folder}/{CAM_DEPTH}",
        f"{folder}/{CAM_MASK}",
        f"{folder}/object_mask.mp4",
        hint,
    )
    cam = read_trajectory(ws.require(f"{folder}/{CAM_TRAJECTORY}", hint))
    return CameraGuidance(int(entry["index"]), str(entry["name"]), cam, g.rgb, g.mask, g.depth, g.object_mask)


def shared_inpaint_settings(settings, request_template, paths: list[CameraPath]):
    """InpaintSettings whose disocclusion band and outpaint padding are computed once from ALL `paths` and pinned,
    so every view builds exactly the same fill layers from the source cache (one fill in 3D)."""
    from shotsmith.backends.inpaint import disocclusion_band_px, outpaint_pad_px

    union = concatenate(paths, chain=False)
    request = replace(request_template, cameras=union)
    band = disocclusion_band_px(request, settings)
    pad = max(outpaint_pad_px(request, settings))
    return replace(settings, band_min_px=band, band_max_frac=0.0, pad_min_px=pad, pad_max_frac=0.0)


def _prompt(ws: W.Workspace) -> str:
    if ws.exists(W.CAPTION):
        data = ws.read_json(W.CAPTION)
        return str(data.get("text") or data.get("prompt") or "")
    return str(ws.manifest().get("request", {}).get("prompt", ""))


def source_request(ws: W.Workspace, opts: RigGenerateOptions):
    """A GenerateRequest template carrying the source view (cache resolution) and the shared options; the
    per-view fields are placeholders."""
    from shotsmith.backends.generate import GenerateRequest
    from shotsmith.stages.build_cache import load_cache

    cache = load_cache(ws)
    empty = np.zeros((1, 2, 2), bool)
    placeholder = CameraPath(np.eye(4)[None], [1.0, 1.0, 1.0, 1.0], 2, 2)
    return GenerateRequest(
        guidance_rgb=np.zeros((1, 2, 2, 3), np.uint8),
        guidance_mask=empty,
        guidance_depth=np.zeros((1, 2, 2), np.float32),
        cameras=placeholder,
        prompt=_prompt(ws),
        source_rgb=cache.image,
        source_depth=cache.depth,
        source_intrinsics=cache.info.intrinsics_array,
        source_world_from_camera=cache.info.world_from_camera_array,
        seed=opts.seed,
        steps=opts.steps,
        strength=opts.strength,
        guidance_scale=opts.guidance_scale,
    )


def grid_layout(count: int, width: int, height: int, max_width: int) -> tuple[int, int, int, int]:
    """(columns, rows, tile width, tile height) of a near-square mosaic of `count` views of width x height,
    tiles scaled down (never up) so the mosaic is at most `max_width` wide; tile sizes even."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    scale = min(1.0, max_width / float(cols * width))
    tw = max(2, int(width * scale) // 2 * 2)
    th = max(2, int(round(height * tw / width)) // 2 * 2)
    return cols, rows, tw, th


def grid_frames(videos: list[np.ndarray], names: list[str], max_width: int, labels: bool = True):
    """Yield (rows*th, cols*tw, 3) uint8 mosaic frames of equally long (T, H, W, 3) videos (black empty tiles)."""
    import cv2

    t_, h, w = videos[0].shape[:3]
    cols, rows, tw, th = grid_layout(len(videos), w, h, max_width)
    for t in range(t_):
        frame = np.zeros((rows * th, cols * tw, 3), np.uint8)
        for k, (video, name) in enumerate(zip(videos, names, strict=True)):
            tile = (
                video[t]
                if (tw, th) == (w, h)
                else cv2.resize(video[t], (tw, th), interpolation=cv2.INTER_AREA)
            )
            if labels:
                tile = tile.copy()
                scale = max(0.3, th / 480.0)
                cv2.putText(
                    tile,
                    name,
                    (4, int(14 * scale) + 4),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * scale,
                    (255, 255, 255),
                    1,
                    cv2.LINE_AA,
                )
            r, c = divmod(k, cols)
            frame[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = tile
        yield frame


def _generator(opts: RigGenerateOptions):
    from shotsmith.backends.generate import resolve_generator

    kwargs = {"model": opts.model} if opts.model else {}
    return resolve_generator(opts.generator, **kwargs)


def _camera_depth(ws: W.Workspace, entry: dict) -> tuple[np.ndarray, CameraPath]:
    """(guidance depth (T, H, W) float32, 0 where uncovered; the camera's path) of one rig.json camera entry,
    read without decoding its videos."""
    from shotsmith.formats import read_trajectory

    folder = entry["folder"]
    hint = "render-guidance --rig RIG"
    path = ws.require(f"{folder}/{CAM_DEPTH}", hint)
    try:
        with np.load(path, allow_pickle=False) as z:
            depth = np.asarray(z["depth"], dtype=np.float32)
            if "mask" in z.files:
                depth = np.where(np.asarray(z["mask"], dtype=bool), depth, 0.0).astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceError(f"{path}: not a guidance depth file ({exc}); rerun {hint}") from exc
    return depth, read_trajectory(ws.require(f"{folder}/{CAM_TRAJECTORY}", hint))


def source_camera(template) -> CameraPath | None:
    """The cache's source camera (one frame at cache resolution) of a `source_request` template, or None."""
    if template.source_intrinsics is None or template.source_world_from_camera is None:
        return None
    height, width = (
        np.asarray(template.source_depth).shape[:2] if template.source_depth is not None else (2, 2)
    )
    return CameraPath(
        np.asarray(template.source_world_from_camera, float)[None], template.source_intrinsics, width, height
    )


def _views_together(ws: W.Workspace, gen, template, entries: list[dict], stats: dict):
    """Yield (CameraGuidance, video) per camera, generated by a diffusion backend in batches through one
    denoising loop, each view starting from noise shared with the other views where they see the same 3D
    point (the grid lives on the cache's source camera, which sees every point of a single-image cache).
    `stats` gets the seconds spent generating ("seconds") and the views per batch ("views_per_batch")."""
    t0 = time.perf_counter()
    noise = gen.shared_noise(
        (_camera_depth(ws, e) for e in entries), seed=template.seed, reference=source_camera(template)
    )
    first = read_camera_guidance(ws, entries[0])
    batch = gen.default_batch(len(entries), *first.mask.shape, template.guidance_scale)
    pending = [first]
    stats["views_per_batch"] = batch
    stats["seconds"] += time.perf_counter() - t0
    for lo in range(0, len(entries), batch):
        views = pending + [read_camera_guidance(ws, e) for e in entries[lo + len(pending) : lo + batch]]
        pending = []
        requests = [_view_request(template, g) for g in views]
        t0 = time.perf_counter()
        videos = gen.generate_views(requests, noise[lo : lo + len(views)], batch=len(views))
        stats["seconds"] += time.perf_counter() - t0
        yield from zip(views, videos, strict=True)


def _view_request(template, g: CameraGuidance):
    return replace(
        template,
        guidance_rgb=g.rgb,
        guidance_mask=g.mask,
        guidance_depth=g.depth,
        cameras=g.cameras,
        object_mask=g.object_mask,
    )


def _generate(ws: W.Workspace, opts: RigGenerateOptions, gen, why: str) -> W.StageResult:
    from shotsmith.media import write_video

    start = time.perf_counter()
    rig = read_rig_json(ws)
    template = source_request(ws, opts)
    entries = rig["cameras"]
    gens = [gen]
    if gen.name == "inpaint":
        from shotsmith.backends.inpaint import InpaintGenerator
        from shotsmith.formats import read_trajectory

        paths = [read_trajectory(ws.path(f"{e['folder']}/{CAM_TRAJECTORY}")) for e in entries]
        from shotsmith.backends.inpaint import InpaintReport, build_layers

        shared = shared_inpaint_settings(gen.settings, template, paths)
        # One fill in 3D for every view: the layers are built once, from all the rig's cameras.
        union = replace(template, cameras=concatenate(paths, chain=False))
        layers = build_layers(union, shared, InpaintReport())
        # the temporal-stability measure (a diagnostic) runs on the first view only
        gens = [
            InpaintGenerator(settings=shared, layers=layers),
            InpaintGenerator(settings=replace(shared, measure=False), layers=layers),
        ]
    else:
        gen.load()
    together = hasattr(gen, "generate_views")  # diffusion backends: batched views, shared noise

    stats: dict = {"seconds": 0.0}  # seconds spent generating (reading the guidance excluded)

    def one_by_one():
        for k, entry in enumerate(entries):
            g = read_camera_guidance(ws, entry)
            t0 = time.perf_counter()
            video = gens[min(k, len(gens) - 1)].generate(_view_request(template, g))
            stats["seconds"] += time.perf_counter() - t0
            yield g, video

    views = _views_together(ws, gen, template, entries, stats) if together else one_by_one()
    videos, names, reports = [], [], {}
    with ws.atomic(W.OUTPUT_CAMS) as tmp, _Writer() as writer:
        tmp.mkdir()
        for k in track(range(len(entries)), f"generate ({gen.name}): {len(entries)} cameras"):
            gen = gens[min(k, len(gens) - 1)]
            g, video = next(views)
            writer.submit(write_video, tmp / Path(W.output_cam(g.index)).name, video, g.cameras.fps)
            report = getattr(gen, "last_report", None)
            if report is not None and hasattr(report, "as_dict"):
                reports[g.name] = report.as_dict()
            videos.append(video)
            names.append(g.name)
    fps = float(rig.get("fps", 16.0))
    t0 = time.perf_counter()
    with ws.atomic(W.OUTPUT_GRID) as tmp:
        write_video(tmp, grid_frames(videos, names, opts.grid_max_width, opts.labels), fps)
    grid_s = time.perf_counter() - t0
    return W.StageResult(
        outputs=[W.OUTPUT_CAMS, W.OUTPUT_GRID],
        backend_version=gen.version(),
        extra={
            "cameras": len(videos),
            "frames": len(videos[0]) if videos else 0,
            "chosen": why,
            "generate_seconds": round(stats["seconds"], 3),
            "grid_seconds": round(grid_s, 3),
            "total_seconds": round(time.perf_counter() - start, 3),
            "reports": reports,
            **({"views_per_batch": stats["views_per_batch"]} if "views_per_batch" in stats else {}),
        },
    )


def generate_rig(
    ws: W.Workspace, opts: RigGenerateOptions | None = None, *, force: bool = False
) -> W.StageRecord:
    """Run `generate-rig` (skipped when the rig's guidance, the cache and the options are unchanged)."""
    opts = opts or RigGenerateOptions()
    opts.validate()
    gen, why = _generator(opts)
    ws.require(RIG_JSON, "render-guidance --rig RIG")
    inputs = [W.GUIDANCE_CAMS, W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_JSON]
    if ws.exists(W.CAPTION):
        inputs.append(W.CAPTION)
    return W.run_stage(
        ws,
        STAGE_GENERATE,
        lambda: _generate(ws, opts, gen, why),
        options={**asdict(opts), "rig": read_rig_json(ws).get("spec")},
        inputs=inputs,
        backend=gen.name,
        force=force,
    )


__all__ = [
    "CameraGuidance",
    "RIG_JSON",
    "RIG_UE_JSON",
    "RigGenerateOptions",
    "RigRenderOptions",
    "STAGE_GENERATE",
    "STAGE_RENDER",
    "generate_rig",
    "grid_frames",
    "grid_layout",
    "guidance_cam",
    "guidance_cam_dir",
    "plan_rig",
    "read_camera_guidance",
    "read_rig_json",
    "render_camera",
    "render_guidance_rig",
    "shared_inpaint_settings",
    "source_request",
]
