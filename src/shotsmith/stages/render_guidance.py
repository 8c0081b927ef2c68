"""Stage `render-guidance`: render the 3D cache (and inserted objects) along trajectory.json (GEN3C's guidance).

Reads trajectory.json (`shotsmith.formats.read_trajectory`), cache/points.ply and cache/cache.json (the source
camera, for each point's footprint), plus objects/objects.json when present: `fused` objects join the scene's
z-buffer, `layered` ones are rendered as their own layer and composited with a depth test (their pixels go to
guidance/object_mask.mp4). Writes, each atomically: guidance/rgb.mp4 (empty pixels black), guidance/mask.mp4
(grey 255 = covered by the cache), guidance/depth.npz (float16 "depth" (T, H, W) z-depth, 0 = empty, and bool
"mask") and, with `frames_png`, guidance/frames/NNNNN.png. The splatting itself is `shotsmith.render`'s.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from shotsmith import workspace as W
from shotsmith.errors import FormatError, InputError
from shotsmith.render import (
    DEFAULT_RADIUS_FACTOR,
    RenderedVideo,
    RenderSettings,
    composite,
    point_radius,
    render_path,
    resolve_backend,
)

STAGE = "render-guidance"
#: Largest z-depth float16 holds; farther depths are stored as this.
FLOAT16_MAX = 65504.0


@dataclass
class GuidanceOptions:
    """Options of `shotsmith render-guidance`."""

    backend: str = "auto"
    """Point renderer: auto, numba, torch or reference (see `shotsmith.render.RenderSettings.backend`)."""
    frames_png: bool = False
    """Also write every frame as guidance/frames/NNNNN.png."""
    footprint: str = "square"
    """Splat footprint: square or round."""
    radius_factor: float = DEFAULT_RADIUS_FACTOR
    """A point's footprint radius as a fraction of the source pixel it came from."""
    max_radius_px: float = 8.0
    """Largest splat radius in target pixels."""
    depth_tolerance: float = 0.01
    """Relative depth band blended as one surface."""

    def settings(self) -> RenderSettings:
        if not self.radius_factor > 0:
            raise InputError(
                f"--radius-factor {self.radius_factor}: must be positive (default {DEFAULT_RADIUS_FACTOR})"
            )
        return RenderSettings(
            backend=self.backend,  # type: ignore[arg-type] - validated by RenderSettings
            footprint=self.footprint,  # type: ignore[arg-type]
            max_radius_px=self.max_radius_px,
            depth_tolerance=self.depth_tolerance,
        )


@dataclass
class SourceCamera:
    """What the renderer needs from cache/cache.json."""

    world_from_camera: np.ndarray
    """(4, 4) float64 source pose."""
    fx: float
    """Source focal length in pixels at cache resolution."""


def read_source_camera(ws: W.Workspace) -> SourceCamera:
    """The source camera of cache/cache.json (through the cache stage's `CacheInfo` when it is there)."""
    try:
        from shotsmith.stages.build_cache import CacheInfo
    except ImportError:  # pragma: no cover - the cache stage ships with shotsmith
        CacheInfo = None  # noqa: N806
    if CacheInfo is not None:
        info = CacheInfo.read(ws)
        return SourceCamera(info.world_from_camera_array, float(info.intrinsics_array[0]))
    data = ws.read_json(W.CACHE_JSON, "build-3d-cache")  # pragma: no cover
    try:  # pragma: no cover
        pose = np.asarray(data.get("world_from_camera", np.eye(4)), dtype=np.float64).reshape(4, 4)
        return SourceCamera(pose, float(data["intrinsics"][0]))
    except (KeyError, ValueError, TypeError, IndexError) as exc:  # pragma: no cover
        raise FormatError(f"{ws.path(W.CACHE_JSON)}: no usable intrinsics/world_from_camera ({exc})") from exc


def load_scene(ws: W.Workspace, radius_factor: float = DEFAULT_RADIUS_FACTOR):
    """(points (P, 3) float32, colors (P, 3) uint8, radius (P,) float32) of the cache."""
    from shotsmith.ply import read_points

    src = read_source_camera(ws)
    points, colors = read_points(ws.require(W.CACHE_POINTS, "build-3d-cache"))
    if colors is None:
        colors = np.full(points.shape, 200, np.uint8)
    return points, colors, point_radius(points, src.world_from_camera, src.fx, factor=radius_factor)


def object_inputs(ws: W.Workspace) -> list[str]:
    if not ws.exists(W.OBJECTS_JSON):
        return []
    from shotsmith.stages.insert_object import read_objects

    return [W.OBJECTS_JSON] + [o["ply"] for o in read_objects(ws)["objects"] if "ply" in o]


@dataclass
class Scene:
    """What a camera is rendered from: the cache with `fused` objects merged in, and `layered` objects apart."""

    points: np.ndarray
    """(P, 3) float32 world points."""
    colors: np.ndarray
    """(P, 3) uint8 colours."""
    radius: np.ndarray
    """(P,) float32 world-space footprint radii."""
    layered: list = field(default_factory=list)
    """(points, colors, radius) of each layered object, composited with a depth test and masked."""


def load_scene_with_objects(ws: W.Workspace, radius_factor: float = DEFAULT_RADIUS_FACTOR) -> Scene:
    """The cache and the placed objects of a workspace (objects/objects.json when present)."""
    points, colors, radius = load_scene(ws, radius_factor)
    scene = Scene(points, colors, radius)
    if not ws.exists(W.OBJECTS_JSON):
        return scene
    from shotsmith.stages.insert_object import layers

    for obj in layers(ws):
        n = len(obj["points"])
        cols = np.full((n, 3), 200, np.uint8) if obj["colors"] is None else obj["colors"]
        rad = np.full(n, obj.get("radius", 0.0), np.float32)
        if obj.get("mode") == "fused":
            scene.points = np.concatenate([scene.points, obj["points"]])
            scene.colors = np.concatenate([scene.colors, cols])
            scene.radius = np.concatenate([scene.radius, rad])
        else:
            scene.layered.append((obj["points"], cols, rad))
    return scene


def render_scene(
    scene: Scene, cam, settings: RenderSettings, progress: str | None = None
) -> tuple[RenderedVideo, np.ndarray | None]:
    """Render a scene along a camera path: the video and the layered objects' (T, H, W) mask (or None)."""
    video = render_path(
        scene.points, scene.colors, cam, radius=scene.radius, settings=settings, progress=progress
    )
    object_mask = None
    for pts, cols, rad in scene.layered:
        layer = render_path(pts, cols, cam, radius=rad, settings=settings)
        video, won = composite(video, layer, settings.depth_tolerance)
        object_mask = won if object_mask is None else object_mask | won
    return video, object_mask


def render_workspace(
    ws: W.Workspace, opts: GuidanceOptions
) -> tuple[RenderedVideo, np.ndarray | None, float]:
    """Render the cache (+ objects) along trajectory.json: the video, the layered objects' (T, H, W) mask or
    None, and the fps."""
    from shotsmith.formats import read_trajectory

    settings = opts.settings()
    cam = read_trajectory(ws.require(W.TRAJECTORY, "plan-trajectory"))
    scene = load_scene_with_objects(ws, opts.radius_factor)
    video, object_mask = render_scene(scene, cam, settings, progress="render-guidance")
    return video, object_mask, cam.fps


def save_depth(path, video: RenderedVideo) -> None:
    """guidance depth.npz: float16 z-depth (T, H, W) under "depth" (clamped to float16's range) and the mask."""
    with open(path, "wb") as f:
        np.savez_compressed(f, depth=np.minimum(video.depth, FLOAT16_MAX).astype(np.float16), mask=video.mask)


def write_guidance(
    ws: W.Workspace, video: RenderedVideo, fps: float, object_mask=None, frames_png: bool = False
) -> list[str]:
    """Write guidance/rgb.mp4, mask.mp4, depth.npz (+ object_mask.mp4, frames/) of a rendered video; returns the
    workspace names written. Recapture and rigs write their guidance through this too."""
    from shotsmith.media import write_image, write_video

    grey = (video.mask.astype(np.uint8)) * 255
    with ws.atomic(W.GUIDANCE_RGB) as tmp:
        write_video(tmp, video.rgb, fps, path_for_errors=str(ws.path(W.GUIDANCE_RGB)))
    with ws.atomic(W.GUIDANCE_MASK) as tmp:
        write_video(tmp, grey, fps, path_for_errors=str(ws.path(W.GUIDANCE_MASK)))
    with ws.atomic(W.GUIDANCE_DEPTH) as tmp:
        save_depth(tmp, video)
    outputs = [W.GUIDANCE_RGB, W.GUIDANCE_MASK, W.GUIDANCE_DEPTH]
    if object_mask is not None:
        with ws.atomic(W.GUIDANCE_OBJECT_MASK) as tmp:
            write_video(tmp, object_mask.astype(np.uint8) * 255, fps)
        outputs.append(W.GUIDANCE_OBJECT_MASK)
    if frames_png:
        with ws.atomic(W.GUIDANCE_FRAMES) as tmp:
            tmp.mkdir()
            for i, frame in enumerate(video.rgb):
                write_image(tmp / f"{i:05d}.png", frame)
        outputs.append(W.GUIDANCE_FRAMES)
    return outputs


def _run(ws: W.Workspace, opts: GuidanceOptions, backend: str) -> W.StageResult:
    start = time.perf_counter()
    video, object_mask, fps = render_workspace(ws, opts)
    render_s = time.perf_counter() - start
    outputs = write_guidance(ws, video, fps, object_mask, opts.frames_png)
    coverage = float(video.mask.mean()) if video.mask.size else 0.0
    return W.StageResult(
        outputs=outputs,
        backend_version=_backend_version(backend),
        extra={
            "frames": len(video),
            "size": [int(video.rgb.shape[2]), int(video.rgb.shape[1])] if len(video) else [0, 0],
            "coverage": round(coverage, 4),
            "render_seconds": round(render_s, 3),
            "write_seconds": round(time.perf_counter() - start - render_s, 3),
        },
    )


def _backend_version(backend: str) -> str:
    if backend == "numba":
        import numba

        return f"numba {numba.__version__}"
    if backend == "torch":
        import torch

        return f"torch {torch.__version__}"
    return "reference"


def render_guidance(
    ws: W.Workspace, opts: GuidanceOptions | None = None, *, force: bool = False
) -> W.StageRecord:
    """Run the stage (skipped when trajectory, cache, objects and options are unchanged)."""
    opts = opts or GuidanceOptions()
    opts.settings()  # validate before taking the lock
    backend = resolve_backend(opts.backend)
    return W.run_stage(
        ws,
        STAGE,
        lambda: _run(ws, opts, backend),
        options=asdict(opts),
        inputs=[W.TRAJECTORY, W.CACHE_POINTS, W.CACHE_JSON, *object_inputs(ws)],
        backend=backend,
        force=force,
    )


__all__ = [
    "GuidanceOptions",
    "STAGE",
    "load_scene",
    "read_source_camera",
    "render_guidance",
    "render_workspace",
]
