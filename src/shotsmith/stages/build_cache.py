"""Stage `build-3d-cache`: lift the source image to a coloured point cloud in scene units (GEN3C's 3D cache).

Reads the image (from `--image`, copied into input/, or the one recorded in shot.json), runs a depth backend at
cache resolution (the image's own, downscaled to at most `max_pixels`), picks intrinsics (--fov, EXIF, the
model's, or 60 degrees), rescales depth so that 1.0 = the median valid depth, drops flying pixels (GEN3C's 5x5
range/mean rule) and writes, each atomically:

- cache/depth.npy: (h, w) float32 z-depth in scene units; 0 = invalid *or dropped as a flying pixel*, so
  `unproject(depth.npy)[depth > 0]` is exactly the point set of points.ply, pixel for pixel;
- cache/image.png: the RGB at cache resolution (colours of the points);
- cache/points.ply: the kept points in world coordinates (= the source camera), binary PLY;
- cache/cache.json: `CacheInfo` (intrinsics, source pose, scale to backend units, backend and version...).

Readers use `CacheInfo.read(ws)` / `load_cache(ws)`; nothing else parses cache.json.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

import numpy as np

from shotsmith import workspace as W
from shotsmith.console import note
from shotsmith.errors import FormatError, InputError, WorkspaceError
from shotsmith.geometry import (
    DEFAULT_FILTER_THRESHOLD,
    cache_size,
    choose_intrinsics,
    exif_focal_35mm,
    flying_pixel_mask,
    normalize_depth,
    sanitize_depth,
    unproject_depth,
)

STAGE = "build-3d-cache"
CACHE_SCHEMA_VERSION = 1
#: Default cache resolution bound: a 1 MP photo keeps its own resolution, a 4K photo is downscaled to ~1.3 MP.
DEFAULT_MAX_PIXELS = 1_300_000
#: Smallest cache side in pixels: below it the 5x5 flying-pixel windows span the whole depth range and drop
#: (nearly) every point.
MIN_CACHE_SIDE = 16


def check_cache_size(path, width: int, height: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """The cache size of a `width` x `height` image, or an InputError naming `path` when it is too small."""
    w, h = cache_size(width, height, max_pixels)
    if min(w, h) < MIN_CACHE_SIDE and (w, h) != (width, height):
        raise InputError(
            f"{path}: --max-pixels {max_pixels} shrinks the {width}x{height} image to {w}x{h}, too small for a "
            f"3D cache (at least {MIN_CACHE_SIDE} pixels a side); raise --max-pixels (default {DEFAULT_MAX_PIXELS})"
        )
    if min(w, h) < MIN_CACHE_SIDE:
        raise InputError(
            f"{path}: {width}x{height} is too small for a 3D cache; give a photo at least "
            f"{MIN_CACHE_SIDE} pixels on each side (ideally the shot's size, e.g. 832x480)"
        )
    return w, h


@dataclass
class CacheOptions:
    """Options of `build-3d-cache` (the CLI's flags)."""

    image: str | None = None
    """The user's image file; None = the image already recorded in the workspace (shot.json's request)."""
    depth: str = "auto"
    """Depth backend name (auto, prior, depth-anything-v2, moge) or a depth file (.npy, .npz, 16-bit .png)."""
    depth_kind: Literal["depth", "disparity"] = "depth"
    """What a depth file holds: z-depth, or disparity (inverted)."""
    model: str | None = None
    """Hub id or local folder of the neural backend's weights (None = the backend's default)."""
    fov: float | None = None
    """Horizontal field of view in degrees (None: EXIF focal length, then the model's, then 60 degrees)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Largest cache resolution in pixels (width * height); larger images are downscaled, aspect kept."""
    filter_threshold: float = DEFAULT_FILTER_THRESHOLD
    """Flying-pixel threshold on (max - min) / mean depth over 5x5 windows; 0 keeps every valid point."""

    def validate(self) -> None:
        if self.depth_kind not in ("depth", "disparity"):
            raise InputError(f"--depth-kind {self.depth_kind!r}: expected 'depth' or 'disparity'")
        if self.fov is not None and not 0.0 < self.fov < 180.0:
            raise InputError(
                f"--fov {self.fov}: a horizontal field of view must lie between 0 and 180 degrees"
            )
        if self.max_pixels < 64:
            raise InputError(
                f"--max-pixels {self.max_pixels}: too small; use at least 64 (default {DEFAULT_MAX_PIXELS})"
            )
        if not 0.0 <= self.filter_threshold:
            raise InputError(
                f"--filter-threshold {self.filter_threshold}: must be >= 0 (0 turns the filter off)"
            )


@dataclass
class CacheInfo:
    """cache/cache.json: what a reader of the cache needs besides the arrays (schema_version 1)."""

    width: int
    """Cache width in pixels (depth.npy and image.png are (height, width))."""
    height: int
    """Cache height in pixels."""
    intrinsics: list[float]
    """(fx, fy, cx, cy) in pixels at cache resolution, pixel centres at integer + 0.5."""
    world_from_camera: list[list[float]] = field(default_factory=lambda: np.eye(4).tolist())
    """4x4 source pose, camera-to-world, OpenCV axes (identity: world = source camera)."""
    scale_to_backend_units: float = 1.0
    """s with backend_depth = s * scene_depth (the median valid depth in backend units)."""
    backend_units: Literal["metres", "relative"] = "relative"
    """Units of the backend's depth: "metres" for metric models, else "relative"."""
    backend: str = ""
    """Resolved depth backend (prior, depth-anything-v2, moge, file)."""
    backend_version: str = ""
    """Its version string."""
    model: str = ""
    """Hub id, folder or depth file the backend read ("" for the prior)."""
    image: str = ""
    """Workspace name of the source image (input/...)."""
    num_points: int = 0
    """Points in points.ply (= pixels with depth.npy > 0)."""
    filter_threshold: float = DEFAULT_FILTER_THRESHOLD
    """Flying-pixel threshold used (0 = off)."""
    fov_source: Literal["user", "exif", "model", "default"] = "default"
    """Where the intrinsics came from."""
    subject_distance_backend_units: float = 1.0
    """Distance of the subject (scene unit 1.0) in backend units; equals `scale_to_backend_units`."""
    source_width: int = 0
    """Width of the user's image before downscaling to cache resolution."""
    source_height: int = 0
    """Height of the user's image before downscaling."""
    num_flying_pixels: int = 0
    """Valid pixels dropped by the flying-pixel filter."""
    schema_version: int = CACHE_SCHEMA_VERSION
    """Version of this layout; readers refuse newer ones."""

    def to_json(self) -> dict:
        """A plain JSON dict (what cache.json holds)."""
        return W.to_jsonable(asdict(self))

    @classmethod
    def from_json(cls, data: dict, source: str = "cache.json") -> CacheInfo:
        """Parse a cache.json dict; raises FormatError naming `source` on a missing key or a newer schema."""
        if not isinstance(data, dict):
            raise FormatError(f"{source}: expected a JSON object, got {type(data).__name__}")
        version = int(data.get("schema_version", 0))
        if version > CACHE_SCHEMA_VERSION:
            raise FormatError(
                f"{source}: schema_version {version} is newer than this shotsmith reads ({CACHE_SCHEMA_VERSION}); "
                "upgrade shotsmith or rerun build-3d-cache"
            )
        required = ("width", "height", "intrinsics")
        missing = [k for k in required if k not in data]
        if missing:
            raise FormatError(f"{source}: missing key(s) {', '.join(missing)}; rerun build-3d-cache")
        known = {f.name for f in fields(cls)}
        info = cls(**{k: v for k, v in data.items() if k in known})
        info.intrinsics = [float(x) for x in info.intrinsics]
        if len(info.intrinsics) != 4:
            raise FormatError(f"{source}: intrinsics must be [fx, fy, cx, cy], got {info.intrinsics}")
        m = np.asarray(info.world_from_camera, dtype=np.float64)
        if m.shape != (4, 4):
            raise FormatError(f"{source}: world_from_camera must be 4x4, got shape {m.shape}")
        return info

    @classmethod
    def read(cls, ws: W.Workspace) -> CacheInfo:
        """cache/cache.json of a workspace (WorkspaceError when build-3d-cache has not run)."""
        return cls.from_json(ws.read_json(W.CACHE_JSON, STAGE), str(ws.path(W.CACHE_JSON)))

    @property
    def intrinsics_array(self) -> np.ndarray:
        """(4,) float64 (fx, fy, cx, cy)."""
        return np.asarray(self.intrinsics, dtype=np.float64)

    @property
    def world_from_camera_array(self) -> np.ndarray:
        """(4, 4) float64 source pose."""
        return np.asarray(self.world_from_camera, dtype=np.float64)


@dataclass
class Cache:
    """A loaded cache: `CacheInfo` plus the arrays."""

    info: CacheInfo
    depth: np.ndarray
    """(h, w) float32 z-depth in scene units, 0 = no point."""
    image: np.ndarray
    """(h, w, 3) uint8 colours."""

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(P, 3) float32 world points and (P, 3) uint8 colours of the pixels with depth > 0 (row-major order,
        identical to points.ply)."""
        valid = self.depth > 0
        cam = unproject_depth(self.depth, self.info.intrinsics_array)[valid]
        m = self.info.world_from_camera_array
        world = (cam.astype(np.float64) @ m[:3, :3].T + m[:3, 3]).astype(np.float32)
        return world, self.image[valid]


def load_cache(ws: W.Workspace) -> Cache:
    """Read cache.json, depth.npy and image.png of a workspace, checking that their sizes agree."""
    from shotsmith.media import read_image

    info = CacheInfo.read(ws)
    depth_path = ws.require(W.CACHE_DEPTH, STAGE)
    depth = np.load(depth_path, allow_pickle=False)
    image = read_image(ws.require(W.CACHE_IMAGE, STAGE))
    if depth.shape != (info.height, info.width) or image.shape[:2] != depth.shape:
        raise FormatError(
            f"{depth_path}: depth {depth.shape}, image {image.shape[:2]} and cache.json {info.height}x{info.width} "
            "disagree; rerun build-3d-cache --force"
        )
    return Cache(info=info, depth=depth.astype(np.float32, copy=False), image=image)


# ---------------------------------------------------------------------------------------------------------------
# The stage


def resolve_image(ws: W.Workspace, image: str | None, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    """Workspace name of the source image: `image` copied into input/ (and recorded), or shot.json's."""
    from shotsmith.media import read_image

    if image is not None:
        rgb = read_image(image)  # fails early with the user's own path in the message
        check_cache_size(image, rgb.shape[1], rgb.shape[0], max_pixels)
        name = ws.copy_input(image)
        ws.update_request(image=name)
        return name
    name = ws.manifest()["request"].get("image")
    if not name:
        raise WorkspaceError(
            f"{ws.root}: no image recorded in this workspace; give one with `shotsmith build-3d-cache -w {ws.root} "
            "--image PHOTO.jpg`"
        )
    if not ws.exists(name):
        raise WorkspaceError(f"{ws.path(name)}: the recorded image is missing; give it again with --image")
    return name


def build_cache(ws: W.Workspace, options: CacheOptions | None = None, force: bool = False) -> W.StageRecord:
    """Run `build-3d-cache` on a workspace (skipped when nothing changed, unless `force`)."""
    from shotsmith.backends.depth import is_depth_file, resolve_depth

    opts = options or CacheOptions()
    opts.validate()
    with ws.locked():
        image_name = resolve_image(ws, opts.image, opts.max_pixels)
        backend, why = resolve_depth(opts.depth, model=opts.model, depth_kind=opts.depth_kind)
        external = {"depth": opts.depth} if is_depth_file(opts.depth) else None
        recorded = {k: v for k, v in asdict(opts).items() if k != "image"}

        def run() -> W.StageResult:
            return _build(ws, image_name, backend, why, opts)

        return W.run_stage(
            ws,
            STAGE,
            run,
            options=recorded,
            inputs=[image_name],
            external=external,
            backend=backend.name,
            force=force,
        )


def _build(ws: W.Workspace, image_name: str, backend, why: str, opts: CacheOptions) -> W.StageResult:
    from PIL import Image

    from shotsmith.camera import fov_from_focal
    from shotsmith.geometry import focal_px_from_35mm
    from shotsmith.media import read_image, resize_image, write_image
    from shotsmith.ply import write_points

    t0 = time.perf_counter()
    image_path = ws.path(image_name)
    rgb_full = read_image(image_path)
    src_h, src_w = rgb_full.shape[:2]
    focal_35 = None
    try:
        with Image.open(image_path) as im:
            focal_35 = exif_focal_35mm(im)
    except OSError:
        focal_35 = None
    w, h = check_cache_size(image_path, src_w, src_h, opts.max_pixels)
    rgb = resize_image(rgb_full, w, h)
    del rgb_full
    notes: list[str] = []
    if (w, h) != (src_w, src_h):
        notes.append(
            f"cache resolution {w}x{h} (the image is {src_w}x{src_h}; --max-pixels {opts.max_pixels})"
        )

    # A known focal length helps MoGe: it then recovers only the depth shift.
    if hasattr(getattr(backend, "settings", None), "fov_x"):
        if opts.fov is not None:
            backend.settings.fov_x = opts.fov
        elif focal_35:
            backend.settings.fov_x = fov_from_focal(focal_px_from_35mm(focal_35, w, h), w)

    t_depth = time.perf_counter()
    backend.load()
    result = backend(rgb)
    t_depth = time.perf_counter() - t_depth
    notes.extend(result.notes)
    depth_backend, _ = sanitize_depth(result.depth)
    if depth_backend.shape != (h, w):
        raise InputError(f"depth backend {backend.name!r} returned {depth_backend.shape}, expected {(h, w)}")
    if result.mask is not None:
        depth_backend = np.where(result.mask, depth_backend, np.float32(0))
    if not (depth_backend > 0).any():
        raise InputError(
            f"depth backend {backend.name!r} found no valid depth in {image_path}; try --depth prior"
        )

    intrinsics, fov_source = choose_intrinsics(w, h, opts.fov, focal_35, result.intrinsics)
    depth, scale = normalize_depth(depth_backend)
    keep = flying_pixel_mask(depth, opts.filter_threshold)
    num_valid = int(np.count_nonzero(depth > 0))
    depth = np.where(keep, depth, np.float32(0)).astype(np.float32)
    num_points = int(np.count_nonzero(keep))
    if num_points == 0:
        raise InputError(
            f"{image_path}: every point was dropped by the flying-pixel filter (threshold {opts.filter_threshold}); "
            "raise --filter-threshold or set it to 0"
        )
    points = unproject_depth(depth, intrinsics)[keep]  # world = source camera (identity pose)
    colors = rgb[keep]

    info = CacheInfo(
        width=w,
        height=h,
        intrinsics=[float(x) for x in intrinsics],
        world_from_camera=np.eye(4).tolist(),
        scale_to_backend_units=float(scale),
        backend_units="metres" if result.kind == "metric" else "relative",
        backend=backend.name,
        backend_version=backend.version(),
        model=backend.model,
        image=image_name,
        num_points=num_points,
        filter_threshold=float(opts.filter_threshold),
        fov_source=fov_source,
        subject_distance_backend_units=float(scale),
        source_width=src_w,
        source_height=src_h,
        num_flying_pixels=num_valid - num_points,
    )
    with ws.atomic(W.CACHE_DEPTH) as tmp, open(tmp, "wb") as f:
        np.save(f, depth, allow_pickle=False)
    with ws.atomic(W.CACHE_IMAGE) as tmp:
        write_image(tmp, rgb)
    with ws.atomic(W.CACHE_POINTS) as tmp:
        write_points(tmp, points, colors)
    ws.write_json(W.CACHE_JSON, info.to_json())
    for line in notes:
        note(line)
    return W.StageResult(
        outputs=[W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_POINTS, W.CACHE_JSON],
        backend_version=info.backend_version,
        extra={
            "why": why,
            "notes": notes,
            "num_points": num_points,
            "fov_source": fov_source,
            "seconds_depth": round(t_depth, 3),
            "seconds_total": round(time.perf_counter() - t0, 3),
        },
    )
