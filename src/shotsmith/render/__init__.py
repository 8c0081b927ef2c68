"""Rendering a coloured point cache into target cameras: the public API of the point renderer.

Owns input checks, backend choice and the per-path loop. The splatting rule (projection, footprint, z-buffer with
a relative depth tolerance, Gaussian blending of the visible surface) is written once in
`shotsmith.render.types` and implemented three times: `fast` (numba, compiled and parallel, the default),
`torch_splat` (vectorised torch, chunked) and `reference` (plain loops, the test oracle). docs/RENDERING.md
explains the choices. Knows nothing of workspaces or files (the `render-guidance` stage does that).

Example::

    out = render_points(points, colors, cam.world_from_camera[0], cam.intrinsics[0], cam.width, cam.height,
                        radius=point_radius(points, np.eye(4), fx_src))
    out.rgb, out.mask, out.depth   # (H, W, 3) uint8, (H, W) bool, (H, W) float32
"""

from __future__ import annotations

import numpy as np

from shotsmith.errors import BackendUnavailable, InputError, check_shape
from shotsmith.render.types import (
    BACKENDS,
    FOOTPRINTS,
    Frame,
    RenderedVideo,
    RenderOutput,
    RenderSettings,
    empty_output,
)

__all__ = [
    "BACKENDS",
    "FOOTPRINTS",
    "DEFAULT_RADIUS_FACTOR",
    "RenderOutput",
    "RenderSettings",
    "RenderedVideo",
    "composite",
    "empty_video",
    "numba_available",
    "point_radius",
    "render_path",
    "render_points",
    "resolve_backend",
    "warmup",
]

#: A point's footprint radius as a fraction of the source pixel it came from (0.5 is the bare minimum for a
#: square footprint to close the gaps between neighbours; the slack absorbs perspective and slanted surfaces).
DEFAULT_RADIUS_FACTOR = 0.7


def numba_available() -> bool:
    """Whether the compiled backend can be used here."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(name: str) -> str:
    """The concrete backend for `name` ("auto" -> "numba" when importable, else "torch")."""
    if name not in BACKENDS:
        raise InputError(f"render backend {name!r}: expected one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "numba" if numba_available() else "torch"
    if name == "numba" and not numba_available():
        raise BackendUnavailable(
            "render backend 'numba': numba is not installed; `pip install numba` or use torch"
        )
    return name


def point_radius(
    points: np.ndarray,
    world_from_camera_src: np.ndarray,
    fx_src: float,
    factor: float = DEFAULT_RADIUS_FACTOR,
) -> np.ndarray:
    """(P,) float32 world-space footprint radius of each point: `factor` x the size of one source pixel at the
    point's source z-depth (z / fx_src). `points` (P, 3) world, `world_from_camera_src` (4, 4) source pose."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    pose = np.asarray(world_from_camera_src, dtype=np.float64)
    check_shape("world_from_camera_src", pose, (4, 4))
    if not (np.isfinite(fx_src) and fx_src > 0):
        raise InputError(f"source focal length {fx_src}: must be a positive number of pixels")
    rot, center = pose[:3, :3], pose[:3, 3]
    z = (points.astype(np.float64) - center) @ rot[:, 2]  # source z-depth: the optical axis is column 2
    return (factor * np.abs(z) / fx_src).astype(np.float32)


def _frame(world_from_camera, intrinsics, width: int, height: int) -> Frame:
    pose = np.asarray(world_from_camera, dtype=np.float64)
    check_shape("world_from_camera", pose, (4, 4))
    intr = np.asarray(intrinsics, dtype=np.float64).reshape(-1)
    check_shape("intrinsics", intr, (4,))
    if not (np.isfinite(pose).all() and np.isfinite(intr).all()):
        raise InputError("render camera: world_from_camera and intrinsics must be finite")
    if intr[0] <= 0 or intr[1] <= 0:
        raise InputError(f"render camera: focal lengths must be positive, got fx={intr[0]}, fy={intr[1]}")
    if int(width) <= 0 or int(height) <= 0:
        raise InputError(f"render size {width}x{height}: must be positive")
    rot, t = pose[:3, :3], pose[:3, 3]
    camera_from_world = np.concatenate([rot.T, (-rot.T @ t)[:, None]], axis=1)
    fx, fy, cx, cy = (float(x) for x in intr)
    return Frame(camera_from_world, fx, fy, cx, cy, int(width), int(height))


def _prepare(points, colors, radius) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    points = np.asarray(points)
    if points.size == 0:
        points = points.reshape(0, 3)
    check_shape("points", points, (None, 3))
    points = np.ascontiguousarray(points, dtype=np.float32)
    colors = np.asarray(colors)
    if colors.size == 0:
        colors = colors.reshape(0, 3)
    check_shape("colors", colors, (len(points), 3))
    if colors.dtype != np.uint8:
        colors = np.clip(np.round(colors), 0, 255).astype(np.uint8)
    colors = np.ascontiguousarray(colors)
    if radius is not None:
        radius = np.asarray(radius, dtype=np.float32).reshape(-1)
        check_shape("radius", radius, (len(points),))
        # min and max see a NaN, an inf or a negative radius without full-size temporaries (0.4 ms at 1M points)
        if radius.size and not (radius.min() >= 0 and np.isfinite(radius.max())):
            radius = np.where(np.isfinite(radius) & (radius > 0), radius, 0).astype(np.float32)
        radius = np.ascontiguousarray(radius)
    return points, colors, radius


def _backend_fn(name: str):
    if name == "numba":
        from shotsmith.render import fast

        return fast.render
    if name == "torch":
        from shotsmith.render import torch_splat

        return torch_splat.render
    from shotsmith.render import reference

    return reference.render


def render_points(
    points: np.ndarray,
    colors: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    width: int,
    height: int,
    *,
    radius: np.ndarray | None = None,
    settings: RenderSettings | None = None,
) -> RenderOutput:
    """Render (P, 3) float32 world points with (P, 3) uint8 colours into one camera.

    `world_from_camera` (4, 4) OpenCV camera-to-world, `intrinsics` (4,) = (fx, fy, cx, cy) pixels, `radius` (P,)
    world-space footprint radius (see `point_radius`; None = one pixel per point). Points behind the camera are
    dropped; an empty point set renders an empty frame. Returns rgb (H, W, 3) uint8, mask (H, W) bool and depth
    (H, W) float32 z-depth (0 where empty).
    """
    settings = settings or RenderSettings()
    frame = _frame(world_from_camera, intrinsics, width, height)
    points, colors, radius = _prepare(points, colors, radius)
    if len(points) == 0:
        return empty_output(frame.width, frame.height)
    return _backend_fn(resolve_backend(settings.backend))(points, colors, radius, frame, settings)


def render_path(
    points: np.ndarray,
    colors: np.ndarray,
    cam,
    *,
    radius: np.ndarray | None = None,
    settings: RenderSettings | None = None,
    progress: str | None = None,
    video: RenderedVideo | None = None,
    on_frame=None,
) -> RenderedVideo:
    """Render every frame of a `shotsmith.camera.CameraPath`; `progress` names a rich progress bar (None: silent).
    Returns rgb (T, H, W, 3) uint8, mask (T, H, W) bool, depth (T, H, W) float32: `video` when given (see
    `empty_video`; every frame is overwritten), else new arrays. `on_frame(i)` is called once frame i is final
    (e.g. to let a writer thread encode it while the next ones render)."""
    settings = settings or RenderSettings()
    points, colors, radius = _prepare(points, colors, radius)
    name = resolve_backend(settings.backend)
    fn = _backend_fn(name)
    n, h, w = len(cam), cam.height, cam.width
    if video is None:
        video = empty_video(n, w, h)
    elif video.rgb.shape != (n, h, w, 3) or video.mask.shape != (n, h, w) or video.depth.shape != (n, h, w):
        raise InputError(f"render_path: `video` holds {video.rgb.shape[:3]} frames, the path {(n, h, w)}")
    scratch = None if video.depth.dtype == np.float32 else np.empty((h, w), np.float32)
    frames = range(n)
    if progress:
        from shotsmith.console import track

        frames = track(frames, progress, total=n)
    for i in frames:
        if len(points) == 0:
            video.rgb[i], video.mask[i], video.depth[i] = 0, False, 0
        elif name == "numba":  # renders straight into the video's frame
            frame = _frame(cam.world_from_camera[i], cam.intrinsics[i], w, h)
            depth = video.depth[i] if scratch is None else scratch
            fn(points, colors, radius, frame, settings, RenderOutput(video.rgb[i], video.mask[i], depth))
            if scratch is not None:
                _store_depth(video.depth[i], scratch)
        else:
            frame = _frame(cam.world_from_camera[i], cam.intrinsics[i], w, h)
            out = fn(points, colors, radius, frame, settings)
            video.rgb[i], video.mask[i] = out.rgb, out.mask
            _store_depth(video.depth[i], out.depth)
        if on_frame is not None:
            on_frame(i)
    return video


def empty_video(n_frames: int, width: int, height: int, depth_dtype=np.float32) -> RenderedVideo:
    """An uninitialised (n_frames, height, width) `RenderedVideo` for `render_path` to render into (it writes
    every pixel of every frame). `depth_dtype` float16 halves the depth stack (what guidance/depth.npz stores:
    depths clamped to float16's range, rounded)."""
    return RenderedVideo(
        rgb=np.empty((n_frames, height, width, 3), np.uint8),
        mask=np.empty((n_frames, height, width), bool),
        depth=np.empty((n_frames, height, width), depth_dtype),
    )


def _store_depth(dst: np.ndarray, src: np.ndarray) -> None:
    """Frame depth `src` (float32) into `dst`, clamped to float16's range when `dst` is float16."""
    if dst.dtype == np.float16:
        src = np.minimum(src, FLOAT16_MAX)
    dst[...] = src


#: The largest finite float16: depths beyond it are stored as it (guidance/depth.npz's rule).
FLOAT16_MAX = float(np.finfo(np.float16).max)


def composite(base, layer, depth_tolerance: float = 0.01):
    """Draw a separately rendered point layer (an inserted object) over `base` with a depth test.

    `base` and `layer` are both `RenderOutput` or both `RenderedVideo`. A layer pixel wins where the layer covers
    it and the base is empty or not nearer than the layer (within `depth_tolerance`, relative). Returns the
    combined render (same type as `base`) and the (…, H, W) bool mask of the pixels the layer won.
    """
    won = layer.mask & (~base.mask | (layer.depth <= base.depth * (1.0 + depth_tolerance)))
    out = type(base)(rgb=base.rgb.copy(), mask=base.mask | won, depth=base.depth.copy())
    out.rgb[won] = layer.rgb[won]
    out.depth[won] = layer.depth[won]
    return out, won


def warmup() -> None:
    """Compile the numba kernel once (it is cached on disk), so the first real render does not pay for it.
    `make install` calls this."""
    if not numba_available():
        return
    points = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    colors = np.zeros((1, 3), dtype=np.uint8)
    render_points(points, colors, np.eye(4), np.array([8.0, 8.0, 4.0, 4.0]), 8, 8)
