"""Typed readers and writers of every workspace artifact: the one module that knows what each file holds.

`shotsmith.workspace` spells the file names and keeps them atomic; this module turns them into values and back:
the request (shot.json), trajectory.json (+ its plot), the 3D cache (cache.json as `CacheInfo`, depth.npy,
image.png, points.ply) and the 4D cache of a video (frames.npz), caption.json and the texts derived from it,
objects.json and the placed objects' points, the guidance of one camera or of every rig camera (rgb.mp4,
mask.mp4, depth.npz, object_mask.mp4, frames/), rig.json, the output videos and eval/metrics.json.
Stages import this module, never each other. Every writer goes through `Workspace.atomic`; every reader names
the file and the stage to rerun when the content is not what it should be. Shapes are given per field.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shotsmith import workspace as W
from shotsmith.camera import CameraPath
from shotsmith.errors import FormatError, WorkspaceError

CACHE_SCHEMA_VERSION = 1
OBJECTS_SCHEMA_VERSION = 1
RIG_SCHEMA_VERSION = 1
#: Largest z-depth float16 holds; farther guidance depths are stored as this.
FLOAT16_MAX = 65504.0
#: Flying-pixel threshold recorded when none is given (`geometry.DEFAULT_FILTER_THRESHOLD`).
_DEFAULT_FILTER = 0.05


# ---------------------------------------------------------------------------------------------------------------
# shot.json's request


def request(ws: W.Workspace) -> dict:
    """What was asked (shot.json's "request": prompt, image or video, sizes)."""
    return dict(ws.manifest()["request"])


def input_path(ws: W.Workspace, name: str) -> Path:
    """A recorded input's path (workspace names are relative; a user's absolute path stays as it is)."""
    p = Path(name)
    return p if p.is_absolute() else ws.path(name)


# ---------------------------------------------------------------------------------------------------------------
# trajectory.json


def read_trajectory(ws: W.Workspace, name: str = W.TRAJECTORY) -> CameraPath:
    """The planned path (or a rig camera's path with `name`)."""
    from shotsmith.formats import read_trajectory as read

    return read(ws.require(name))


def write_trajectory(ws: W.Workspace, cam: CameraPath) -> list[str]:
    """trajectory.json, its plot trajectory.png and the 3D page trajectory.html (with the cache's points when
    the workspace has a photo's cache); returns the names written."""
    from shotsmith.formats import write_trajectory as write
    from shotsmith.plot import plot_trajectory
    from shotsmith.viewer.static import write_trajectory_html

    with ws.atomic(W.TRAJECTORY) as tmp:
        write(tmp, cam)
    with ws.atomic(W.TRAJECTORY_PNG) as tmp:
        plot_trajectory(cam, tmp)
    points = colors = None
    if ws.exists(W.CACHE_POINTS):
        points, colors = read_cache_points(ws)
    with ws.atomic(W.TRAJECTORY_HTML) as tmp:
        write_trajectory_html(tmp, cam, points, colors)
    return [W.TRAJECTORY, W.TRAJECTORY_PNG, W.TRAJECTORY_HTML]


# ---------------------------------------------------------------------------------------------------------------
# The 3D cache


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
    """s with backend_depth = s * scene_depth (the subject depth in backend units)."""
    backend_units: Literal["metres", "relative"] = "relative"
    """Units of the backend's depth: "metres" for metric models, else "relative"."""
    backend: str = ""
    """Resolved depth backend (prior, depth-anything-v2, moge, file)."""
    backend_version: str = ""
    """Its version string."""
    model: str = ""
    """Hub id, folder or depth file the backend read ("" for the prior)."""
    image: str = ""
    """Workspace name of the source image (input/...), or cache/image.png for a video's frame 0."""
    num_points: int = 0
    """Points in points.ply (= pixels with depth.npy > 0)."""
    filter_threshold: float = _DEFAULT_FILTER
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
    kind: Literal["image", "4d"] = "image"
    """"image": one photo; "4d": a video's per-frame cache (cache/frames.npz; depth.npy etc. are frame 0)."""
    video: dict = field(default_factory=dict)
    """For a 4D cache: the video's facts (workspace name, frames, fps, fit, source cameras, depth scales)."""
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
        missing = [k for k in ("width", "height", "intrinsics") if k not in data]
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

    @property
    def intrinsics_array(self) -> np.ndarray:
        """(4,) float64 (fx, fy, cx, cy)."""
        return np.asarray(self.intrinsics, dtype=np.float64)

    @property
    def world_from_camera_array(self) -> np.ndarray:
        """(4, 4) float64 source pose."""
        return np.asarray(self.world_from_camera, dtype=np.float64)

    @property
    def is_4d(self) -> bool:
        return self.kind == "4d"


def read_cache_info(ws: W.Workspace) -> CacheInfo:
    """cache/cache.json (WorkspaceError when build-3d-cache has not run)."""
    return CacheInfo.from_json(ws.read_json(W.CACHE_JSON, "build-3d-cache"), str(ws.path(W.CACHE_JSON)))


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
        from shotsmith.geometry import unproject_depth

        valid = self.depth > 0
        cam = unproject_depth(self.depth, self.info.intrinsics_array)[valid]
        m = self.info.world_from_camera_array
        world = (cam.astype(np.float64) @ m[:3, :3].T + m[:3, 3]).astype(np.float32)
        return world, self.image[valid]

    def source_camera(self) -> CameraPath:
        """The source view as a one-frame path at cache resolution."""
        return CameraPath(
            self.info.world_from_camera_array[None],
            self.info.intrinsics_array,
            self.info.width,
            self.info.height,
        )


def read_cache_depth(ws: W.Workspace) -> np.ndarray:
    """cache/depth.npy: (h, w) float32 z-depth in scene units, 0 = no point."""
    path = ws.require(W.CACHE_DEPTH)
    try:
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"{path}: not a readable depth map ({exc}); rerun build-3d-cache --force"
        ) from exc


def load_cache(ws: W.Workspace) -> Cache:
    """Read cache.json, depth.npy and image.png of a workspace, checking that their sizes agree."""
    from shotsmith.media import read_image

    info = read_cache_info(ws)
    depth = read_cache_depth(ws)
    image = read_image(ws.require(W.CACHE_IMAGE))
    if depth.shape != (info.height, info.width) or image.shape[:2] != depth.shape:
        raise FormatError(
            f"{ws.path(W.CACHE_DEPTH)}: depth {depth.shape}, image {image.shape[:2]} and cache.json "
            f"{info.height}x{info.width} disagree; rerun build-3d-cache --force"
        )
    return Cache(info=info, depth=depth, image=image)


def write_cache(
    ws: W.Workspace, info: CacheInfo, depth: np.ndarray, image: np.ndarray, points: np.ndarray, colors
) -> list[str]:
    """depth.npy, image.png, points.ply and cache.json of a (source-view) cache; returns the names written."""
    from shotsmith.media import write_image
    from shotsmith.ply import write_points

    with ws.atomic(W.CACHE_DEPTH) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(depth, np.float32), allow_pickle=False)
    with ws.atomic(W.CACHE_IMAGE) as tmp:
        write_image(tmp, image)
    with ws.atomic(W.CACHE_POINTS) as tmp:
        write_points(tmp, points, colors)
    ws.write_json(W.CACHE_JSON, info.to_json())
    return [W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_POINTS, W.CACHE_JSON]


def read_cache_points(ws: W.Workspace) -> tuple[np.ndarray, np.ndarray]:
    """cache/points.ply: (P, 3) float32 world points and (P, 3) uint8 colours (grey when the file has none)."""
    from shotsmith.ply import read_points

    points, colors = read_points(ws.require(W.CACHE_POINTS))
    if colors is None:
        colors = np.full(points.shape, 200, np.uint8)
    return points, colors


# ---------------------------------------------------------------------------------------------------------------
# The fused cache of several photos (points.ply holds every photo's points; these say where each came from)

PHOTOS_SCHEMA_VERSION = 1


@dataclass
class PhotoCameras:
    """cache/photos.json: the registered cameras of a several-photo cache (world = the first photo's camera,
    scene units) and what SfM and the depth fits found."""

    images: list[str]
    """Workspace names of the photos (input/...), in the order given; photo 0 is cache/image.png."""
    world_from_camera: np.ndarray
    """(N, 4, 4) camera-to-world, OpenCV axes, scene units; photo 0 is the identity."""
    intrinsics: np.ndarray
    """(N, 4) (fx, fy, cx, cy) in pixels at each photo's cache resolution."""
    sizes: list[tuple[int, int]]
    """(width, height) of each photo at cache resolution."""
    facts: dict = field(default_factory=dict)
    """Per-photo depth fits, points added, SfM facts (free-form, for the record)."""

    def __len__(self) -> int:
        return len(self.images)


def write_photo_cameras(ws: W.Workspace, cams: PhotoCameras) -> str:
    """cache/photos.json of `cams`."""
    ws.write_json(
        W.CACHE_PHOTOS,
        {
            "schema_version": PHOTOS_SCHEMA_VERSION,
            "photos": [
                {
                    "image": name,
                    "width": int(size[0]),
                    "height": int(size[1]),
                    "intrinsics": [float(x) for x in intr],
                    "world_from_camera": np.asarray(pose, np.float64).tolist(),
                }
                for name, size, intr, pose in zip(
                    cams.images, cams.sizes, cams.intrinsics, cams.world_from_camera, strict=True
                )
            ],
            "facts": cams.facts,
        },
    )
    return W.CACHE_PHOTOS


def read_photo_cameras(ws: W.Workspace) -> PhotoCameras:
    """cache/photos.json (WorkspaceError when the cache is not from several photos)."""
    path = ws.path(W.CACHE_PHOTOS)
    if not path.exists():
        raise WorkspaceError(
            f"{ws.root}: the 3D cache is not from several photos (no {W.CACHE_PHOTOS}); build it with "
            "`shotsmith build-3d-cache --image a.jpg --image b.jpg ...` (or --images DIR)"
        )
    data = ws.read_json(W.CACHE_PHOTOS)
    try:
        if int(data.get("schema_version", 0)) > PHOTOS_SCHEMA_VERSION:
            raise FormatError(
                f"{path}: schema_version {data['schema_version']} is newer than this shotsmith reads"
            )
        photos = data["photos"]
        poses = np.array([p["world_from_camera"] for p in photos], dtype=np.float64).reshape(-1, 4, 4)
        intr = np.array([p["intrinsics"] for p in photos], dtype=np.float64).reshape(-1, 4)
        return PhotoCameras(
            images=[str(p["image"]) for p in photos],
            world_from_camera=poses,
            intrinsics=intr,
            sizes=[(int(p["width"]), int(p["height"])) for p in photos],
            facts=dict(data.get("facts", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: not a photos.json ({exc}); rerun build-3d-cache --force") from exc


def write_cache_sources(ws: W.Workspace, source: np.ndarray) -> str:
    """cache/sources.npy: (P,) int16, the photo each point of points.ply (same order) came from."""
    with ws.atomic(W.CACHE_SOURCES) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(source, np.int16), allow_pickle=False)
    return W.CACHE_SOURCES


def read_cache_sources(ws: W.Workspace) -> np.ndarray:
    """cache/sources.npy: (P,) int16 source photo per point of points.ply."""
    path = ws.require(W.CACHE_SOURCES)
    try:
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.int16).reshape(-1)
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"{path}: not a readable sources file ({exc}); rerun build-3d-cache --force"
        ) from exc


def cache_point_radius(ws: W.Workspace, points: np.ndarray, factor: float) -> np.ndarray:
    """(P,) float32 footprint radii of points.ply's `points`: each from its own photo's camera when the cache is
    from several photos (sources.npy, photos.json), else from the source camera (`render.point_radius`)."""
    from shotsmith.render import point_radius

    info = read_cache_info(ws)
    if not (ws.exists(W.CACHE_SOURCES) and ws.exists(W.CACHE_PHOTOS)):
        return point_radius(points, info.world_from_camera_array, float(info.intrinsics[0]), factor=factor)
    source = read_cache_sources(ws)
    cams = read_photo_cameras(ws)
    if len(source) != len(points) or int(source.max(initial=0)) >= len(cams):
        raise WorkspaceError(
            f"{ws.path(W.CACHE_SOURCES)}: does not match points.ply ({len(source)} vs {len(points)} points, "
            f"{len(cams)} photos); rerun build-3d-cache --force"
        )
    radius = np.empty(len(points), np.float32)
    for i in range(len(cams)):
        sel = source == i
        if sel.any():
            radius[sel] = point_radius(
                points[sel], cams.world_from_camera[i], float(cams.intrinsics[i, 0]), factor=factor
            )
    return radius


def _save_npz(
    path: Path, arrays: dict[str, np.ndarray], level: int = 1, stored: tuple[str, ...] = ()
) -> None:
    """An .npz like numpy's savez_compressed, with a fast deflate level (the 4D cache is large); arrays named in
    `stored` are kept uncompressed (colour that deflate barely shrinks, read back at once by the next stage)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy")
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info._compresslevel = level  # type: ignore[attr-defined] - zipfile keeps the level on the entry
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)


def write_cache4d(ws: W.Workspace, cache, fps: float, static=None) -> str:
    """cache/frames.npz of a `recapture.Cache4D`: "depth" (T, h, w) float32 scene-unit z-depth (0 = no point),
    "rgb" (T, h, w, 3) uint8, "world_from_camera" (T, 4, 4), "intrinsics" (4,), "fps", "static" (T, h,
    ceil(w / 8)) the points that may lend themselves to other frames (bits packed along the rows), when computed,
    and `seen` (what each frame sees before the flying-pixel filter, kept at float16) as the few pixels where it
    differs from the depth at float16: "seen_index" (K,) int64 flat indices into (T, h, w) and "seen_value" (K,)
    float16 (elsewhere seen is the depth at float16). Stored uncompressed: the next stage reads it all at once,
    and deflate costs seconds on it while barely shrinking colour and float depth; a whole float16 "seen" was a
    fifth of the file (65 MB of 81 frames at 832x480, ~0.8 s of fresh page cache on this VM) for ~10^-5 of its
    pixels that differ (flying and snapped pixels). `static`, when given, is called for the (T, h, w) static
    mask once every other member is written (the caller computes it meanwhile on another thread); else
    `cache.static` is written when set."""
    index, value = _seen_exceptions(cache.depth, cache.seen)
    arrays = {
        "depth": cache.depth,
        "seen_index": index,
        "seen_value": value,
        "rgb": cache.rgb,
        "world_from_camera": cache.world_from_camera,
        "intrinsics": cache.intrinsics,
        "fps": np.float64(fps),
    }
    with ws.atomic(W.CACHE_FRAMES) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            with zf.open(zipfile.ZipInfo(f"{name}.npy"), "w", force_zip64=True) as f:
                _write_stored_array(f, arr)
        mask = static() if static is not None else cache.static
        if mask is not None:
            with zf.open(zipfile.ZipInfo("static.npy"), "w", force_zip64=True) as f:
                _write_stored_array(f, np.packbits(mask, axis=-1))
    return W.CACHE_FRAMES


#: The members of cache/frames.npz (files written before "seen_index" / "seen_value" hold a float16 "seen").
CACHE4D_MEMBERS = (
    "depth",
    "seen_index",
    "seen_value",
    "rgb",
    "world_from_camera",
    "intrinsics",
    "fps",
    "static",
)


def _write_stored_array(f, arr: np.ndarray) -> None:
    """`np.lib.format.write_array` into an uncompressed zip member, the bytes handed over without a copy."""
    arr = np.ascontiguousarray(arr)
    np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(arr))
    if arr.size:
        f.write(memoryview(arr.reshape(-1)).cast("B"))


def _seen_exceptions(depth: np.ndarray, seen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(flat indices, float16 values) of the pixels where `seen` at float16 is not `depth` at float16, frame by
    frame (no whole-video temporaries)."""
    t_ = depth.shape[0]
    if seen is None or seen is depth or t_ == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float16)
    per = depth[0].size
    index, value = [], []
    for t in range(t_):
        s16 = seen[t].astype(np.float16).reshape(-1)
        differ = np.flatnonzero(s16 != depth[t].astype(np.float16).reshape(-1))
        index.append(differ + t * per)
        value.append(s16[differ])
    return np.concatenate(index).astype(np.int64), np.concatenate(value)


def _seen_from_file(data, depth: np.ndarray) -> np.ndarray | None:
    """`seen` as float32 from a frames.npz: the depth at float16 with the stored exceptions, or an older file's
    whole float16 "seen"."""
    if "seen" in data:
        return data["seen"].astype(np.float32)
    if "seen_index" not in data:
        return None
    index, value = data["seen_index"], data["seen_value"]
    if index.shape != value.shape or (index.size and (index.min() < 0 or index.max() >= depth.size)):
        raise ValueError(f"seen_index / seen_value do not fit the {depth.shape} depth")
    seen = np.empty_like(depth)
    for t in range(len(depth)):
        seen[t] = depth[t].astype(np.float16)
    seen.reshape(-1)[index] = value
    return seen


def read_cache4d(ws: W.Workspace):
    """The `recapture.Cache4D` of cache/frames.npz."""
    from shotsmith.recapture import Cache4D

    p = ws.require(W.CACHE_FRAMES, "recapture")
    try:
        with np.load(p, allow_pickle=False) as data:
            depth = data["depth"]
            return Cache4D(
                depth=depth,
                rgb=data["rgb"],
                world_from_camera=data["world_from_camera"],
                intrinsics=data["intrinsics"],
                seen=_seen_from_file(data, depth),
                static=(
                    np.unpackbits(data["static"], axis=-1, count=depth.shape[-1]).view(bool)
                    if "static" in data
                    else None
                ),
            )
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise FormatError(
            f"{p}: not a readable 4D cache ({exc}); rerun `shotsmith recapture --force`"
        ) from exc


def read_cache4d_rgb(ws: W.Workspace) -> np.ndarray:
    """(T, h, w, 3) uint8: only the source frames of cache/frames.npz (its "rgb" member; the rest is not read)."""
    p = ws.require(W.CACHE_FRAMES, "recapture")
    try:
        with np.load(p, allow_pickle=False) as data:
            rgb = data["rgb"]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise FormatError(
            f"{p}: not a readable 4D cache ({exc}); rerun `shotsmith recapture --force`"
        ) from exc
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise FormatError(
            f"{p}: rgb is {rgb.dtype} {rgb.shape}, not (T, h, w, 3) uint8; rerun recapture --force"
        )
    return rgb


def cache_is_4d(ws: W.Workspace) -> bool:
    """Whether the workspace's cache is a video's 4D cache."""
    return ws.exists(W.CACHE_JSON) and ws.exists(W.CACHE_FRAMES) and read_cache_info(ws).is_4d


# ---------------------------------------------------------------------------------------------------------------
# caption.json and the texts


@dataclass
class Caption:
    """The content of caption.json."""

    prompt: str = ""
    """The user's words."""
    movement: str = ""
    """The motion caption of trajectory.json (GenDoP's "Movement")."""
    scene: str = ""
    """CLIP scene tags as text ("" without weights)."""
    text: str = ""
    """What a text-conditioned generator receives: prompt, movement and scene combined."""
    scene_tags: list[dict] = field(default_factory=list)
    """[{"tag", "probability", "source"}] of the scene tags."""
    notes: list[str] = field(default_factory=list)
    """What was skipped and why."""

    def to_json(self) -> dict:
        d = asdict(self)
        d["Movement"] = self.movement
        return d


def write_caption(ws: W.Workspace, caption: Caption) -> str:
    ws.write_json(W.CAPTION, caption.to_json())
    return W.CAPTION


def read_caption(ws: W.Workspace) -> Caption | None:
    """caption.json, or None when the caption stage has not run."""
    if not ws.exists(W.CAPTION):
        return None
    data = ws.read_json(W.CAPTION)
    if not isinstance(data, dict):
        raise WorkspaceError(f"{ws.path(W.CAPTION)}: expected a JSON object; rerun `shotsmith caption`")
    known = {f.name for f in fields(Caption)}
    return Caption(**{k: v for k, v in data.items() if k in known})


def user_prompt(ws: W.Workspace, override: str | None = None) -> str:
    """The user's own words: `override`, else shot.json's prompt, else caption.json's prompt."""
    if override is not None:
        return override
    text = request(ws).get("prompt") or ""
    if not text:
        cap = read_caption(ws)
        text = cap.prompt if cap is not None else ""
    return str(text)


def generator_text(ws: W.Workspace, override: str | None = None) -> str:
    """The text a generator receives: `override`, else caption.json's text, else the user's prompt."""
    if override is not None:
        return override
    cap = read_caption(ws)
    if cap is not None and cap.text:
        return cap.text
    return user_prompt(ws)


# ---------------------------------------------------------------------------------------------------------------
# objects


def read_objects(ws: W.Workspace) -> dict:
    """objects/objects.json: {"schema_version", "objects": [record...]} (empty when no object was placed)."""
    if not ws.exists(W.OBJECTS_JSON):
        return {"schema_version": OBJECTS_SCHEMA_VERSION, "objects": []}
    data = ws.read_json(W.OBJECTS_JSON)
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise WorkspaceError(f"{ws.path(W.OBJECTS_JSON)}: expected {{'objects': [...]}}; fix or delete it")
    return data


def write_objects(ws: W.Workspace, data: dict) -> str:
    data = dict(data, schema_version=OBJECTS_SCHEMA_VERSION)
    ws.write_json(W.OBJECTS_JSON, data)
    return W.OBJECTS_JSON


def write_object_points(ws: W.Workspace, name: str, points: np.ndarray, colors) -> str:
    from shotsmith.ply import write_points

    with ws.atomic(W.object_ply(name)) as tmp:
        write_points(tmp, points, colors)
    return W.object_ply(name)


def object_files(ws: W.Workspace) -> list[str]:
    """objects.json and every placed object's PLY (the inputs of a render), or [] without objects."""
    if not ws.exists(W.OBJECTS_JSON):
        return []
    return [W.OBJECTS_JSON] + [o["ply"] for o in read_objects(ws)["objects"] if "ply" in o]


@dataclass
class ObjectLayer:
    """A placed object's points as the renderer takes them."""

    name: str
    mode: str
    """"fused" (drawn in the scene's z-buffer) or "layered" (own layer and mask)."""
    points: np.ndarray
    """(P, 3) float32 world points."""
    colors: np.ndarray
    """(P, 3) uint8."""
    radius: np.ndarray
    """(P,) float32 world footprint radii."""


def read_object_layers(ws: W.Workspace) -> list[ObjectLayer]:
    """The placed objects with their points loaded."""
    from shotsmith.ply import read_points

    out = []
    for rec in read_objects(ws)["objects"]:
        pts, colors = read_points(ws.require(rec["ply"], "insert-object --reapply"))
        n = len(pts)
        cols = np.full((n, 3), 200, np.uint8) if colors is None else colors
        out.append(
            ObjectLayer(
                rec["name"],
                rec.get("mode", "layered"),
                pts,
                cols,
                np.full(n, float(rec.get("radius", 0.0)), np.float32),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------------------
# Guidance (one camera, or each camera of a rig)


@dataclass
class Guidance:
    """One camera's guidance in memory."""

    rgb: np.ndarray
    """(T, H, W, 3) uint8, black where the cache has nothing."""
    mask: np.ndarray
    """(T, H, W) bool, True where the cache covers the pixel."""
    depth: np.ndarray
    """(T, H, W) z-depth, 0 where empty: float16 as guidance/depth.npz stores it (or float32)."""
    object_mask: np.ndarray | None = None
    """(T, H, W) bool inserted-object pixels, or None."""

    def __len__(self) -> int:
        return len(self.rgb)

    def take(self, idx: np.ndarray) -> Guidance:
        """The guidance of frames `idx`."""
        om = None if self.object_mask is None else self.object_mask[idx]
        return Guidance(self.rgb[idx], self.mask[idx], self.depth[idx], om)


def guidance_files(index: int | None = None) -> list[str]:
    """The required guidance files of the single camera (None) or of rig camera `index`."""
    return [W.guidance_file(r, index) for r in ("rgb", "mask", "depth")]


def write_guidance(
    ws: W.Workspace,
    video,
    fps: float,
    object_mask: np.ndarray | None = None,
    frames_png: bool = False,
    root: Path | None = None,
    index: int | None = None,
    cam: CameraPath | None = None,
    ready=None,
) -> list[str]:
    """Write one camera's guidance: rgb.mp4 (empty pixels black), mask.mp4 (grey 255 = covered), depth.npz
    (float16 "depth" (T, H, W) z-depth clamped to float16's range, 0 = empty, bool "mask", and the exact
    uint8 "rgb" that the videos show lossily; the generators read these), object_mask.mp4 when given, frames/ with `frames_png`. `video` has .rgb, .mask, .depth
    (`RenderedVideo`). The two videos and depth.npz are written on threads at once (ffmpeg encodes in its own
    processes). `ready(i)`, when given, blocks until frame i of `video` is final (the caller renders into it on
    another thread, and the videos encode as the frames come) and raises if it never will be: then nothing is
    written.

    The single camera (index None) writes guidance/... atomically, file by file. Rig camera `index` writes
    into `root` (the temporary guidance/cams folder the caller renames at once) with its trajectory.json.
    Returns the workspace names written (single camera) or [] (rig camera: the folder is the output)."""
    from concurrent.futures import ThreadPoolExecutor

    from shotsmith.media import GUIDANCE_PRESET, write_image, write_video

    def target(role: str):
        leaf = W.GUIDANCE_LEAVES[role]
        if index is None:
            return ws.atomic(W.guidance_file(role))
        folder = root / Path(W.guidance_cam_dir(index)).name
        folder.mkdir(parents=True, exist_ok=True)
        return _plain(folder / leaf)

    def frames(arr, each=None):
        for i in range(len(arr)):
            if ready is not None:
                ready(i)
            yield arr[i] if each is None else each(arr[i])

    def rgb() -> None:
        with target("rgb") as tmp:
            write_video(
                tmp,
                frames(video.rgb),
                fps,
                path_for_errors=str(ws.path(W.guidance_file("rgb", index))),
                preset=GUIDANCE_PRESET,
            )

    def mask() -> None:
        with target("mask") as tmp:
            write_video(
                tmp,
                frames(video.mask, lambda m: m.view(np.uint8) * np.uint8(255)),
                fps,
                preset=GUIDANCE_PRESET,
            )

    def depth() -> None:
        # The .npz `_save_npz` would write. "rgb" and "depth" stored (deflating the depth was the 0.4 s left
        # after the last frame: `run` of 81 frames 5.36 -> 4.89 s, for a file of 162 MB instead of 111 MB),
        # "mask" deflated (32 MB of booleans -> 0.3 MB, 0.06 s).
        def entry(zf, name: str, deflate: bool):
            info = zipfile.ZipInfo(f"{name}.npy")
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info._compresslevel = 1  # type: ignore[attr-defined] - zipfile keeps the level on the entry
            return zf.open(info, "w", force_zip64=True)

        n = len(video.depth)

        def header(arr, dtype) -> dict:
            return {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": arr.shape}

        with target("depth") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            # "rgb" first, frame by frame as the frames come: its bytes (the file's largest member) go to disk
            # while the rest renders; then "depth" and "mask" once every frame is made
            with entry(zf, "rgb", False) as f:
                np.lib.format.write_array_header_1_0(f, header(video.rgb, np.uint8))
                for i in range(n):
                    if ready is not None:
                        ready(i)
                    f.write(np.ascontiguousarray(video.rgb[i]).data)
            if ready is not None and n:
                ready(n - 1)
            with entry(zf, "depth", False) as f:
                np.lib.format.write_array_header_1_0(f, header(video.depth, np.float16))
                for i in range(n):
                    d = video.depth[i]
                    if d.dtype != np.float16:  # a float16 render is clamped already
                        d = np.minimum(d, FLOAT16_MAX).astype(np.float16)
                    f.write(np.ascontiguousarray(d).data)
            with entry(zf, "mask", True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(video.mask), allow_pickle=False)

    with ThreadPoolExecutor(3, thread_name_prefix="guidance") as pool:
        jobs = [pool.submit(job) for job in (rgb, mask, depth)]
    for job in jobs:
        job.result()  # the first failure, once all three have ended
    written = [W.guidance_file(r) for r in ("rgb", "mask", "depth")]
    if index is None and object_mask is None:
        _hand_over(ws.path(W.guidance_file("depth")), video)
    if object_mask is not None:
        with target("object_mask") as tmp:
            write_video(tmp, object_mask.astype(np.uint8) * 255, fps, preset=GUIDANCE_PRESET)
        written.append(W.GUIDANCE_OBJECT_MASK)
    if index is not None and cam is not None:
        from shotsmith.formats import write_trajectory as write

        with target("trajectory") as tmp:
            write(tmp, cam)
    if frames_png and index is None:
        with ws.atomic(W.GUIDANCE_FRAMES) as tmp:
            tmp.mkdir()
            for i, frame in enumerate(video.rgb):
                write_image(tmp / f"{i:05d}.png", frame)
        written.append(W.GUIDANCE_FRAMES)
    return written if index is None else []


class _plain:
    """A context manager yielding a path (rig camera files live in a folder that is renamed as a whole)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        return None


def read_guidance_depth(ws: W.Workspace, index: int | None = None) -> np.ndarray:
    """(T, H, W) float32 guidance z-depth of one camera, 0 where uncovered (read without its videos)."""
    path = ws.require(W.guidance_file("depth", index))
    try:
        with np.load(path, allow_pickle=False) as z:
            depth = np.asarray(z["depth"], dtype=np.float32)
            if "mask" in z.files:
                depth = np.where(np.asarray(z["mask"], dtype=bool), depth, 0.0).astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceError(f"{path}: not a guidance depth file ({exc}); rerun render-guidance") from exc
    return depth


#: The single camera's guidance as `read_guidance` would read it back, kept by the process that wrote it, keyed by
#: depth.npz's path and its (device, inode, size, mtime, ctime): `run` renders and generates in one process, and
#: reading 81 frames back (inflating the depth) cost generate ~1 s. One entry at most; taken, not copied.
_HANDED_OVER: dict[str, tuple[tuple, Guidance]] = {}


def _stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _hand_over(depth_path: Path, video) -> None:
    """Keep the guidance just written to `depth_path` for this process's next `read_guidance` of it."""
    _HANDED_OVER.clear()
    _HANDED_OVER[str(depth_path)] = (_stat_key(depth_path), Guidance(video.rgb, *_as_read(video)))


def _as_read(video) -> tuple[np.ndarray, np.ndarray]:
    """(mask, depth) of `video` exactly as `read_guidance` would read them back from depth.npz (float16 depth,
    0 where empty, mask False where the depth is 0). In place, frame by frame, when `video`'s arrays are the
    writable float16 / bool ones `render-guidance` renders into (the writers are done with them): a second full
    stack (100-200 MB of fresh memory for 81 frames at 832x480) costs more here than the rest of the hand-over."""
    depth, mask = video.depth, video.mask
    if not (
        isinstance(depth, np.ndarray)
        and depth.dtype == np.float16
        and depth.flags.c_contiguous
        and depth.flags.writeable
    ):  # e.g. a video's 4D render (float32): made float16 frame by frame, as the file holds it
        src, depth = depth, np.empty(np.shape(depth), np.float16)
        for d, s in zip(depth, src, strict=True):
            d[...] = np.minimum(s, FLOAT16_MAX)
    if not (isinstance(mask, np.ndarray) and mask.dtype == bool and mask.flags.writeable):
        mask = np.array(mask, dtype=bool)
    for d, m in zip(depth, mask, strict=True):
        _keep_positive(d, m)
    return mask, depth


def _keep_positive(depth: np.ndarray, mask: np.ndarray) -> None:
    """In place on one frame: `mask &= depth > 0`, then depth 0 where the mask is False. A float16 depth is
    tested on its bits (numpy compares float16 ~15x slower than float32): d > 0 exactly when its bits are in
    1..0x7C00 (positive, up to inf; not NaN, not a negative or -0)."""
    if depth.dtype == np.float16:
        bits = depth.view(np.uint16)
        mask &= (bits - np.uint16(1)) < np.uint16(0x7C00)
        stray = (bits != 0) & ~mask
    else:
        mask &= depth > 0
        stray = ~mask
    if stray.any():
        depth[stray] = 0.0


def _taken_over(depth_path: Path) -> Guidance | None:
    """The guidance `_hand_over` kept for `depth_path` when the file is still the one written, else None."""
    entry = _HANDED_OVER.pop(str(depth_path), None)
    if entry is None:
        return None
    try:
        same = entry[0] == _stat_key(depth_path)
    except OSError:
        return None
    return entry[1] if same else None


def read_guidance(ws: W.Workspace, index: int | None = None) -> Guidance:
    """One camera's guidance as arrays; the exact colour and mask stored in depth.npz are preferred over the
    lossy videos. Single camera: guidance/...; rig camera `index`: guidance/cams/NN/..."""
    from shotsmith.media import read_mask_video, read_video

    hint = W.PRODUCERS[W.GUIDANCE_RGB] if index is None else W.PRODUCERS[W.GUIDANCE_CAMS]
    rgb_path = ws.require(W.guidance_file("rgb", index), hint)
    depth_path = ws.require(W.guidance_file("depth", index), hint)
    om_name = W.guidance_file("object_mask", index)
    if index is None and not ws.exists(om_name) and (kept := _taken_over(depth_path)) is not None:
        return kept
    try:
        with np.load(depth_path, allow_pickle=False) as z:
            depth = np.asarray(z["depth"])  # float16 as stored (float32 in older files): no conversion
            if depth.dtype not in (np.float16, np.float32):
                depth = depth.astype(np.float32)
            mask = np.asarray(z["mask"], dtype=bool) if "mask" in z.files else None
            rgb = np.asarray(z["rgb"], dtype=np.uint8) if "rgb" in z.files else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise WorkspaceError(f"{depth_path}: not a guidance depth file ({exc}); rerun {hint}") from exc
    if rgb is None:
        rgb, _ = read_video(rgb_path)
    if mask is None:
        mask = read_mask_video(ws.require(W.guidance_file("mask", index), hint))
    if mask.shape == depth.shape:
        # in place, frame by frame: no second stack of fresh memory
        for d, m in zip(depth, mask, strict=True):
            _keep_positive(d, m)
    obj = read_mask_video(ws.path(om_name)) if ws.exists(om_name) else None
    shapes = {"rgb": rgb.shape[:3], "depth": depth.shape, "mask": mask.shape}
    if obj is not None:
        shapes["object_mask"] = obj.shape
    if len(set(shapes.values())) != 1:
        raise WorkspaceError(
            f"{ws.path(W.guidance_file('rgb', index)).parent}: the guidance files disagree ({shapes}); rerun "
            f"`shotsmith {hint} -w {ws.root} --force`"
        )
    return Guidance(rgb, mask, depth, obj)


# ---------------------------------------------------------------------------------------------------------------
# rig.json


def rig_json(rig, cameras: list[dict], first: CameraPath, ue_scale: float) -> dict:
    """The content of guidance/cams/rig.json: the rig (spec, name, parameters, scale) and its cameras
    ([{index, name, folder, coverage}])."""
    return W.to_jsonable(
        {
            "schema_version": RIG_SCHEMA_VERSION,
            "spec": rig.spec,
            "name": rig.name,
            "description": rig.description,
            "params": rig.params,
            "metres_per_unit": rig.metres_per_unit,
            "ue_scale": ue_scale,
            "frames": len(first),
            "fps": first.fps,
            "size": [first.width, first.height],
            "cameras": cameras,
        }
    )


def read_rig_json(ws: W.Workspace) -> dict:
    """guidance/cams/rig.json (WorkspaceError when no rig was rendered, or a newer schema)."""
    data = ws.read_json(W.RIG_JSON, W.PRODUCERS[W.RIG_JSON])
    if int(data.get("schema_version", 0)) > RIG_SCHEMA_VERSION:
        raise WorkspaceError(
            f"{ws.path(W.RIG_JSON)}: written by a newer shotsmith; upgrade or rerun render-guidance --rig"
        )
    return data


# ---------------------------------------------------------------------------------------------------------------
# Outputs


def write_video_artifact(
    ws: W.Workspace, name: str, frames: Iterable[np.ndarray] | np.ndarray, fps: float
) -> str:
    """An H.264 video artifact (output/shot.mp4, output/grid.mp4...), written atomically."""
    from shotsmith.media import write_video

    with ws.atomic(name) as tmp:
        write_video(tmp, frames, fps, path_for_errors=str(ws.path(name)))
    return name


def write_metrics(ws: W.Workspace, metrics: dict[str, Any]) -> str:
    ws.write_json(W.EVAL_METRICS, metrics)
    return W.EVAL_METRICS


# ---------------------------------------------------------------------------------------------------------------
# Chunks of a long shot (output/chunks/NNN.npz)


@dataclass
class StoredChunk:
    """One generated chunk: the key of its inputs, its own frames and the world cache after it."""

    key: str
    frames: np.ndarray
    """(K, H, W, 3) uint8: the chunk's own frames (its overlap with earlier chunks left out), generator size."""
    world: Any
    """`world.WorldPoints` after the chunk's frames were lifted."""
    report: dict
    """What the chunk did (lifted frames, points added), as recorded."""


def write_chunk(ws: W.Workspace, index: int, chunk: StoredChunk) -> str:
    """output/chunks/NNN.npz, atomically (a shot interrupted later resumes after it)."""
    import json

    name = W.output_chunk(index)
    w = chunk.world
    arrays = {
        "key": np.array(chunk.key),
        "frames": np.asarray(chunk.frames, np.uint8),
        "points": np.asarray(w.points, np.float32),
        "colors": np.asarray(w.colors, np.uint8),
        "radius": np.asarray(w.radius, np.float32),
        "voxel": np.array(float(w.voxel)),
        "report": np.array(json.dumps(W.to_jsonable(chunk.report))),
    }
    with ws.atomic(name) as tmp:
        _save_npz(tmp, arrays, stored=("frames",))
    return name


def read_chunk(ws: W.Workspace, index: int) -> StoredChunk | None:
    """Chunk `index` as stored, or None when it is missing or unreadable (it is then generated again)."""
    import json

    from shotsmith.world import WorldPoints

    p = ws.path(W.output_chunk(index))
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as d:
            # scalars come back as 1-element arrays (the npz writer stores contiguous arrays)
            world = WorldPoints(d["points"], d["colors"], d["radius"], float(d["voxel"].reshape(-1)[0]))
            key, report = str(d["key"].reshape(-1)[0]), json.loads(str(d["report"].reshape(-1)[0]))
            return StoredChunk(key, d["frames"], world, report)
    except (KeyError, ValueError, TypeError, IndexError, OSError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
