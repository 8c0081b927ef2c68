"""Stage `render-guidance`: render the cache (and inserted objects) along the plan for one camera or a rig.

One camera is a rig of one: the cameras are trajectory.json alone, or with `--rig` every camera of the rig
(`rigs.rig_paths`: the planned move applied to each camera in its own frame, checked to stay clear of the
subject and the cache's surface), all rendered from the same scene at the same instants. The scene is the
photo's point cache (cache/points.ply, each point's footprint from the source camera) with the placed objects
(`fused` ones in the same z-buffer, `layered` ones composited with a depth test and masked), or a video's 4D
cache (target frame t from source frame t's points plus the other frames' points a depth test accepts,
`recapture.render_cache4d`).

Writes through `artifacts.write_guidance`: the single camera's guidance/rgb.mp4, mask.mp4, depth.npz
(+ object_mask.mp4, frames/); a rig's guidance/cams/ folder at once: per camera NN/ the same files plus its
trajectory.json, rig.json and camera_extrinsics.json (SynCamMaster's Unreal JSON, `shotsmith convert` reads it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.camera import CameraPath
from shotsmith.console import track
from shotsmith.errors import InputError
from shotsmith.media import BackgroundWriter
from shotsmith.options import opt
from shotsmith.render import DEFAULT_RADIUS_FACTOR, RenderSettings, composite, render_path
from shotsmith.stage import Stage

NAME = "render-guidance"
#: Unreal-JSON centimetres per scene unit when the rig has no metric scale (SynCamMaster divides by 200).
DEFAULT_UE_SCALE = 200.0


@dataclass
class Config:
    """Options of `shotsmith render-guidance`."""

    backend: Literal["auto", "numba", "torch", "reference"] = "auto"
    """Point renderer: auto, numba, torch or reference."""
    frames_png: bool = False
    """Also write every frame as guidance/frames/NNNNN.png (single camera)."""
    footprint: Literal["square", "round"] | None = None
    """Splat footprint: square or round (default: square for a photo, round for a video's 4D cache, smoother
    where a dolly magnifies the splats)."""
    radius_factor: float = DEFAULT_RADIUS_FACTOR
    """Splat radius as a fraction of the source pixel a point came from (photo caches)."""
    max_radius_px: float = 8.0
    """Largest splat radius in target pixels."""
    depth_tolerance: float = 0.01
    """Relative depth band blended as one surface."""
    other_frames: int = 8
    """Video caches: other source frames that may fill each target frame (0: frame t alone, GEN3C's Cache4D)."""
    fill_tolerance: float = 0.03
    """Video caches: relative depth band of the fill's depth test."""
    rig: str | None = opt(None, file=True)
    """Render every camera of a rig (`shotsmith rigs`), e.g. ring:n=4,radius=0.3, a rig .toml or a camera file."""

    def validate(self) -> None:
        if not self.radius_factor > 0:
            raise InputError(
                f"--radius-factor {self.radius_factor}: must be positive (default {DEFAULT_RADIUS_FACTOR})"
            )
        if self.other_frames < 0:
            raise InputError(f"--other-frames {self.other_frames}: must be >= 0")
        if self.rig:
            from shotsmith.rigs import load_rig

            load_rig(self.rig)  # a bad spec fails before anything is written
        self.settings(four_d=False)

    def settings(self, four_d: bool) -> RenderSettings:
        return RenderSettings(
            backend=self.backend,  # type: ignore[arg-type] - validated by RenderSettings
            footprint=self.footprint or ("round" if four_d else "square"),  # type: ignore[arg-type]
            max_radius_px=self.max_radius_px,
            depth_tolerance=self.depth_tolerance,
        )


# ---------------------------------------------------------------------------------------------------------------
# The scene


@dataclass
class Scene:
    """What every camera is rendered from: the photo's cache with `fused` objects merged in and `layered`
    objects apart, or a video's 4D cache."""

    points: np.ndarray | None = None
    """(P, 3) float32 world points."""
    colors: np.ndarray | None = None
    """(P, 3) uint8 colours."""
    radius: np.ndarray | None = None
    """(P,) float32 world-space footprint radii."""
    layered: list = field(default_factory=list)
    """(points, colors, radius) of each layered object, composited with a depth test and masked."""
    cache4d: object | None = None
    """The `recapture.Cache4D` of a video (then the fields above are unused)."""


def load_scene(ws: W.Workspace, radius_factor: float = DEFAULT_RADIUS_FACTOR) -> Scene:
    """The workspace's scene: the 4D cache of a video, or the photo's points with the placed objects."""
    if A.cache_is_4d(ws):
        return Scene(cache4d=A.read_cache4d(ws))
    points, colors = A.read_cache_points(ws)
    radius = A.cache_point_radius(ws, points, factor=radius_factor)
    scene = Scene(points, colors, radius)
    for obj in A.read_object_layers(ws):
        if obj.mode == "fused":
            scene.points = np.concatenate([scene.points, obj.points])
            scene.colors = np.concatenate([scene.colors, obj.colors])
            scene.radius = np.concatenate([scene.radius, obj.radius])
        else:
            scene.layered.append((obj.points, obj.colors, obj.radius))
    return scene


def render_camera(scene: Scene, cam: CameraPath, cfg: Config, progress: str | None = None):
    """(RenderedVideo, the layered objects' (T, H, W) bool mask or None) of one camera path."""
    if scene.cache4d is not None:
        from shotsmith.recapture import FillOptions, render_cache4d

        fill = FillOptions(other_frames=cfg.other_frames, depth_tolerance=cfg.fill_tolerance)
        video, _ = render_cache4d(scene.cache4d, cam, fill, cfg.settings(True), progress=progress)
        return video, None
    settings = cfg.settings(False)
    video = render_path(
        scene.points, scene.colors, cam, radius=scene.radius, settings=settings, progress=progress
    )
    object_mask = None
    for pts, cols, rad in scene.layered:
        layer = render_path(pts, cols, cam, radius=rad, settings=settings)
        video, won = composite(video, layer, settings.depth_tolerance)
        object_mask = won if object_mask is None else object_mask | won
    return video, object_mask


# ---------------------------------------------------------------------------------------------------------------
# The cameras


def ue_scale_for(rig) -> float:
    """Centimetres per scene unit in the exported Unreal JSON: the rig's metric scale, else SynCamMaster's 200."""
    return 100.0 * rig.metres_per_unit if rig.metres_per_unit else DEFAULT_UE_SCALE


def plan_rig(ws: W.Workspace, rig) -> dict[str, CameraPath]:
    """Every rig camera's path over the shot (trajectory.json's move), checked against the subject and cache."""
    from shotsmith.rigs import check_clear, rig_paths

    base = A.read_trajectory(ws)
    paths = rig_paths(rig, base)
    subject = base.world_from_camera[0] @ np.append(rig.subject, 1.0)
    depth = intr = pose = None
    if ws.exists(W.CACHE_DEPTH):
        info = A.read_cache_info(ws)
        depth, intr, pose = A.read_cache_depth(ws), info.intrinsics_array, info.world_from_camera_array
    check_clear(
        rig,
        {name: p.centers for name, p in paths.items()},
        depth=depth,
        intrinsics=intr,
        source_world_from_camera=pose,
        subject=subject[:3],
    )
    return paths


class FrameGate:
    """How many frames a renderer has finished, for writer threads that follow it (`render_path`'s on_frame
    is `done`, `write_guidance`'s ready is `wait`); `fail` makes every waiting writer give up."""

    def __init__(self) -> None:
        self._done = 0
        self._failed = False
        self._cond = threading.Condition()

    def done(self, i: int) -> None:
        with self._cond:
            self._done = max(self._done, i + 1)
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()

    def wait(self, i: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._failed or self._done > i)
            if self._failed:
                raise RuntimeError("rendering stopped before this frame")


def _render_streamed(ws: W.Workspace, cfg: Config, scene: Scene, cam: CameraPath):
    """Render one photo camera while its guidance is written: the videos encode each frame once it is
    rendered (numba and ffmpeg release the GIL). Returns (video, outputs, render seconds, write seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    from shotsmith.render import empty_video

    # depth kept as guidance/depth.npz stores it (float16): the file's numbers, half the memory
    video = empty_video(len(cam), cam.width, cam.height, depth_dtype=np.float16)
    gate = FrameGate()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(1, thread_name_prefix="write-guidance") as pool:
        writing = pool.submit(A.write_guidance, ws, video, cam.fps, None, cfg.frames_png, ready=gate.wait)
        try:
            render_path(
                scene.points,
                scene.colors,
                cam,
                radius=scene.radius,
                settings=cfg.settings(False),
                progress=NAME,
                video=video,
                on_frame=gate.done,
            )
        except BaseException:
            gate.fail()  # the writer removes its temporary files; the workspace stays as it was
            raise
        render_s = time.perf_counter() - t0
        outputs = writing.result()
    return video, outputs, render_s, time.perf_counter() - t0 - render_s


def _render_one(ws: W.Workspace, cfg: Config, scene: Scene) -> W.StageResult:
    cam = A.read_trajectory(ws)
    if scene.cache4d is None and not scene.layered:
        video, outputs, render_s, write_s = _render_streamed(ws, cfg, scene, cam)
    else:
        t0 = time.perf_counter()
        video, object_mask = render_camera(scene, cam, cfg, progress=NAME)
        render_s = time.perf_counter() - t0
        outputs = A.write_guidance(ws, video, cam.fps, object_mask, cfg.frames_png)
        write_s = time.perf_counter() - t0 - render_s
    return W.StageResult(
        outputs=outputs,
        extra={
            "frames": len(video),
            "size": [int(video.rgb.shape[2]), int(video.rgb.shape[1])] if len(video) else [0, 0],
            "coverage": round(float(video.mask.mean()) if video.mask.size else 0.0, 4),
            "render_seconds": round(render_s, 3),
            "write_seconds": round(write_s, 3),
        },
    )


def _render_rig(ws: W.Workspace, cfg: Config, scene: Scene) -> W.StageResult:
    from shotsmith.formats import write_camera_file
    from shotsmith.rigs import load_rig

    rig = load_rig(cfg.rig)
    paths = plan_rig(ws, rig)
    coverage: dict = {}
    render_s = write_s = 0.0
    with ws.atomic(W.GUIDANCE_CAMS) as tmp, BackgroundWriter() as writer:
        tmp.mkdir()
        cams = []
        items = list(paths.items())
        for index, (name, cam) in enumerate(track(items, f"{NAME}: {len(items)} cameras"), start=1):
            t0 = time.perf_counter()
            video, object_mask = render_camera(scene, cam, cfg)
            t1 = time.perf_counter()
            writer.submit(A.write_guidance, ws, video, cam.fps, object_mask, root=tmp, index=index, cam=cam)
            render_s += t1 - t0
            write_s += time.perf_counter() - t1
            coverage[name] = round(float(video.mask.mean()), 4)
            cams.append(
                {
                    "index": index,
                    "name": name,
                    "folder": W.guidance_cam_dir(index),
                    "coverage": coverage[name],
                }
            )
        scale = ue_scale_for(rig)
        write_camera_file(tmp / Path(W.RIG_UE_JSON).name, dict(paths), "ue", ue_scale=scale)
        first = next(iter(paths.values()))
        import json

        rig_data = A.rig_json(rig, cams, first, scale)
        (tmp / Path(W.RIG_JSON).name).write_text(json.dumps(rig_data, indent=2) + "\n")
    return W.StageResult(
        outputs=[W.GUIDANCE_CAMS],
        extra={
            "cameras": len(paths),
            "frames": len(first),
            "size": [first.width, first.height],
            "coverage": coverage,
            "render_seconds": round(render_s, 3),
            "write_seconds": round(write_s, 3),
        },
    )


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Render the guidance of the single camera, or of every camera of `cfg.rig`."""
    t0 = time.perf_counter()
    scene = load_scene(ws, cfg.radius_factor)
    load_s = time.perf_counter() - t0
    result = _render_rig(ws, cfg, scene) if cfg.rig else _render_one(ws, cfg, scene)
    result.extra["load_seconds"] = round(load_s, 3)
    result.backend_version = _backend_version(_backend(cfg)[0])
    return result


def _backend(cfg: Config) -> tuple[str, str]:
    from shotsmith.render import resolve_backend

    return resolve_backend(cfg.backend), ""


def _backend_version(backend: str) -> str:
    if backend == "numba":
        import numba

        return f"numba {numba.__version__}"
    if backend == "torch":
        import torch

        return f"torch {torch.__version__}"
    return "reference"


def _reads(ws: W.Workspace, cfg: Config) -> list[str]:
    names = [W.TRAJECTORY, W.CACHE_JSON]
    if A.cache_is_4d(ws):
        return [*names, W.CACHE_FRAMES]
    names += [W.CACHE_POINTS, *A.object_files(ws)]
    if cfg.rig:
        names.append(W.CACHE_DEPTH)  # the rig's cameras are checked against the cache's surface
    return names


def _report(ws: W.Workspace, rec: W.StageRecord) -> str | None:
    extra = rec.extra
    if extra.get("skipped"):
        return None
    w, h = extra.get("size", [0, 0])
    where = ws.path(W.GUIDANCE_CAMS if extra.get("cameras") else W.GUIDANCE_DIR)
    cameras = f"{extra['cameras']} cameras x " if extra.get("cameras") else ""
    return (
        f"guidance: {cameras}{extra.get('frames')} frames at {w}x{h}, rendered in "
        f"{extra.get('render_seconds', 0):.2f} s ({rec.backend}) -> {where}"
    )


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=_reads,
    requires=lambda ws, cfg: [W.TRAJECTORY, W.CACHE_JSON],
    writes=(
        W.GUIDANCE_RGB,
        W.GUIDANCE_MASK,
        W.GUIDANCE_DEPTH,
        W.GUIDANCE_OBJECT_MASK,
        W.GUIDANCE_FRAMES,
        W.GUIDANCE_CAMS,
    ),
    summary="Render the cache (and inserted objects) for every frame of the plan, for one camera or a rig.",
    examples=(
        "shotsmith render-guidance -w shots/x --frames-png",
        "shotsmith render-guidance -w shots/x --rig ring:n=4,radius=0.3",
    ),
    backend=_backend,
    report=_report,
    records=("render-guidance-rig",),
    record=lambda cfg: "render-guidance-rig" if cfg.rig else NAME,
)
