"""Stage `build-3d-cache`: lift the source photo (or every frame of a video) to coloured points in scene units.

A photo (GEN3C's 3D cache): the image (from `--image`, copied into input/, or the one recorded in shot.json) at
cache resolution (its own, downscaled to at most `max_pixels`), a depth backend, intrinsics (--fov, EXIF, the
model's, or 60 degrees), depth rescaled so that 1.0 = the subject distance, flying pixels handled (`--filter-mode
edges`: both sides of a depth step kept, the pixels in between moved onto the side whose colour they continue,
`geometry.snap_flying_pixels`; `range`: GEN3C's 5x5 range/mean rule, dropping both sides). Writes cache/depth.npy ((h, w) float32 z-depth in scene units, 0 = invalid or dropped, so
`unproject(depth.npy)[depth > 0]` is exactly points.ply), cache/image.png, cache/points.ply (world = source
camera) and cache/cache.json (`artifacts.CacheInfo`).

Several photos (`--image` repeated, or `--images DIR`; `shotsmith.multiview`): pycolmap places them (each photo's
camera from EXIF, --fov, the depth model or 60 degrees), each photo's depth is fitted to the sparse points it sees
(robust scale and shift), and one fused cache holds photo 0's points plus what the others add; world = the first
photo's camera, 1.0 = its subject. depth.npy and image.png are the first photo's, points.ply every photo's points,
cache/sources.npy each point's photo and cache/photos.json the registered cameras (`plan-trajectory --cam
through-photos` visits them). Photos that do not register are refused in one line, naming them.

A video (`--video`, what `recapture` re-shoots; GEN3C's Cache4D): the shot's frames (`shotsmith.video`), depth per
frame (a depth backend, or a per-frame depth file), the source cameras (static, a camera file, or pycolmap's
estimate), depth made consistent over time (`recapture.align_depths`), flying pixels dropped; writes
cache/frames.npz (the 4D cache) and frame 0 as the single-image cache above (cache.json with kind "4d").
Readers use `shotsmith.artifacts`; the domain is `geometry` and `recapture`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.console import info, note
from shotsmith.errors import InputError, WorkspaceError
from shotsmith.geometry import (
    DEFAULT_FILTER_THRESHOLD,
    cache_size,
    choose_intrinsics,
    exif_focal_35mm,
    flying_pixel_mask,
    normalize_depth,
    sanitize_depth,
    snap_flying_pixels,
    unproject_depth,
)
from shotsmith.options import opt, parse_size, show_size
from shotsmith.stage import Stage

NAME = "build-3d-cache"
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
class Config:
    """Options of `shotsmith build-3d-cache`."""

    image: list[str] | None = opt(None, flags=("--image", "-i", "--images"))
    """The source photo (copied into input/); default: the workspace's own. Repeat it, or give a folder
    (--images DIR), for one scene from several photos (pycolmap places them; world = the first photo's camera)."""
    video: str | None = None
    """A source video instead of a photo: a 4D cache of its frames (what `recapture` re-shoots)."""
    depth: str = opt("auto", file=True)
    """Depth backend (auto, prior, depth-anything-v2, moge) or a depth file (.npy .npz 16-bit .png; for a video
    (T, H, W) per frame)."""
    depth_kind: Literal["depth", "disparity"] = "depth"
    """What a depth file holds: z-depth, or disparity (inverted)."""
    model: str | None = opt(None, flags=("--model", "--model-dir"))
    """Hub id or local folder of the neural depth backend's weights (default: the backend's own)."""
    device: str | None = None
    """Torch device of the neural models (depth, video, CLIP): auto (CUDA, else Apple MPS, else the CPU), cpu,
    cuda, cuda:N or mps."""
    fov: float | None = None
    """Horizontal field of view of the source in degrees (default: EXIF, the model's estimate, or 60)."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Largest cache resolution of a photo in pixels (width * height); larger photos are downscaled."""
    filter_threshold: float = DEFAULT_FILTER_THRESHOLD
    """Flying-pixel threshold on (max - min) / mean depth over 5x5 windows; 0 keeps every valid point."""
    filter_mode: Literal["edges", "range"] = "edges"
    """Flying-pixel rule (photos and every frame of a video). edges: keep both sides of a depth step, move the pixels in between onto the
    side whose colour they continue, drop the rest; range: GEN3C's, drop every pixel whose 5x5 window spans
    the threshold (both sides of every step)."""
    frames: int | None = None
    """Video: shot length in frames (default 81, or the whole video when shorter)."""
    fps: float | None = None
    """Video: shot frame rate (default: the source's)."""
    size: tuple[int, int] = opt((832, 480), parse=parse_size, show=show_size, metavar="WxH")
    """Video: shot size WIDTHxHEIGHT, even numbers."""
    fit: Literal["crop", "pad"] = "crop"
    """Video: crop (centre crop to the shot's aspect, ReCamMaster's way) or pad (letterbox; bars are filled)."""
    short: Literal["pad", "loop", "error"] = "error"
    """Video shorter than --frames: pad (hold the last frame), loop, or error."""
    source_camera: str = opt("static", file=True)
    """Video: static (tripod), estimate (pycolmap, its scale measured against the depth), or a camera file (its
    declared units used as given, else its scale measured)."""
    align: Literal["median", "none"] = "median"
    """Video: depth-scale alignment over time: median, or none."""
    source_scale: float | None = None
    """Video: scale of the source camera's translations (x S = scene units, 1.0 = frame 0's subject distance),
    for a camera file without units or when the measured scale is refused; default: the file's declared units,
    else measured (SfM's points against the depth, else a photometric match)."""

    @property
    def photos(self) -> list[str]:
        """The photos given (--image repeated, folders expanded to their images in name order); [] = none."""
        return photo_list(self.image)

    def validate(self) -> None:
        from shotsmith.video import FIT_MODES, SHORT_POLICIES

        if self.image and self.video:
            raise InputError(f"--image {', '.join(self.photos)} and --video {self.video}: give one source")
        from shotsmith.backends.depth import is_depth_file
        from shotsmith.backends.packages import DEVICE_HELP, valid_device

        if len(self.photos) > 1 and is_depth_file(self.depth):
            raise InputError(
                f"--depth {self.depth}: a depth file is one photo's depth; for several photos choose a depth "
                "backend (--depth auto, prior, depth-anything-v2, moge)"
            )

        if self.device is not None and not valid_device(self.device):
            raise InputError(f"--device {self.device!r}: choose {DEVICE_HELP}")
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
        if self.filter_mode not in ("edges", "range"):
            raise InputError(f"--filter-mode {self.filter_mode!r}: choose edges or range")
        if self.fit not in FIT_MODES:
            raise InputError(f"--fit {self.fit!r}: choose one of {', '.join(FIT_MODES)}")
        if self.short not in SHORT_POLICIES:
            raise InputError(f"--short {self.short!r}: choose one of {', '.join(SHORT_POLICIES)}")
        if self.align not in ("median", "none"):
            raise InputError(f"--align {self.align!r}: choose median or none")
        if self.source_scale is not None and not (self.source_scale > 0 and np.isfinite(self.source_scale)):
            raise InputError(
                f"--source-scale {self.source_scale}: must be a positive number (1.0 = as the file says)"
            )
        from pathlib import Path

        sc = self.source_camera
        if sc not in ("static", "estimate") and not Path(sc).exists():
            raise InputError(
                f"--source-camera {sc!r}: not static, estimate, or an existing camera file; check the path"
            )

    def decode_options(self):
        """How the video becomes the shot's frames (`video.DecodeOptions`)."""
        from shotsmith.video import DecodeOptions

        w, h = self.size
        return DecodeOptions(
            frames=self.frames,
            fps=self.fps,
            width=w,
            height=h,
            fit=self.fit,  # type: ignore[arg-type]
            short=self.short,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def _depth_backend(cfg: Config, announce: bool = True):
    """(backend or None for a video's per-frame depth file, why)."""
    from shotsmith.backends.depth import is_depth_file, resolve_depth

    if cfg.video and is_depth_file(cfg.depth):
        if announce:
            info(f"depth: [bold]file[/bold] (per-frame depth from {cfg.depth})")
        return None, f"per-frame depth from {cfg.depth}"
    backend, why = resolve_depth(cfg.depth, model=cfg.model, depth_kind=cfg.depth_kind, announce=announce)
    if cfg.device is not None and hasattr(getattr(backend, "settings", None), "device"):
        backend.settings.device = cfg.device
    return backend, why


def _backend(cfg: Config) -> tuple[str, str]:
    backend, why = _depth_backend(cfg, announce=False)
    return (backend.name if backend is not None else "file"), why


#: Image files a folder given to --images contributes (by suffix, any case).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


def photo_list(image: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The photos of an --image value: None -> [], one path -> [it], several -> them, each folder replaced by its
    image files in name order (an InputError when a folder has none)."""
    from pathlib import Path

    if image is None:
        return []
    items = [image] if isinstance(image, str) else list(image)
    out: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
            if not found:
                raise InputError(
                    f"--images {item}: no photos in this folder (looked for {', '.join(PHOTO_SUFFIXES)}); "
                    "check the path"
                )
            out += [str(p) for p in found]
        else:
            out.append(str(item))
    return out


def check_source(cfg: Config) -> None:
    """Fail before anything is written on a photo that cannot be read or is too small."""
    from shotsmith.media import read_image

    for photo in cfg.photos:
        rgb = read_image(photo)  # fails early with the user's own path in the message
        check_cache_size(photo, rgb.shape[1], rgb.shape[0], cfg.max_pixels)


def _input_names(photos: list[str]) -> list[str | None]:
    """input/ file names of several photos: their own names, prefixed with their index where two collide."""
    from pathlib import Path

    names = [Path(p).name for p in photos]
    if len(set(names)) == len(names):
        return [None] * len(names)
    return [f"{i:03d}-{n}" for i, n in enumerate(names)]


def _prepare(ws: W.Workspace, cfg: Config) -> None:
    """Copy the user's photo(s) or video into input/ and record them (kind photo or video)."""
    check_source(cfg)
    photos = cfg.photos
    if len(photos) == 1:
        extra = {"images": None} if "images" in A.request(ws) else {}
        ws.update_request(image=ws.copy_input(photos[0]), video=None, **extra)
    elif photos:
        names = [ws.copy_input(p, n) for p, n in zip(photos, _input_names(photos), strict=True)]
        ws.update_request(image=names[0], images=names, video=None)
    elif cfg.video is not None:
        ws.update_request(video=ws.copy_input(cfg.video), image=None)


def _recorded(ws: W.Workspace, kind: str) -> str:
    name = A.request(ws).get(kind)
    if not name:
        raise WorkspaceError(
            f"{ws.root}: no {kind} recorded in this workspace; give one with `shotsmith build-3d-cache -w {ws.root} "
            f"--{kind} FILE`"
        )
    if not ws.exists(name):
        raise WorkspaceError(f"{ws.path(name)}: the recorded {kind} is missing; give it again with --{kind}")
    return name


def _source_kind(ws: W.Workspace, cfg: Config) -> str:
    if cfg.video:
        return "video"
    if cfg.image:
        return "image"
    return "video" if A.request(ws).get("video") and not A.request(ws).get("image") else "image"


def _recorded_photos(ws: W.Workspace) -> list[str]:
    """The workspace's several photos (shot.json's request "images", the first = "image"), or [] for one."""
    names = A.request(ws).get("images") or []
    if len(names) < 2 or names[0] != A.request(ws).get("image"):
        return []
    for name in names:
        if not ws.exists(name):
            raise WorkspaceError(
                f"{ws.path(name)}: a recorded photo is missing; give the photos again with --image"
            )
    return list(names)


def _reads(ws: W.Workspace, cfg: Config) -> list[str]:
    kind = _source_kind(ws, cfg)
    return (kind == "image" and _recorded_photos(ws)) or [_recorded(ws, kind)]


def _options(ws: W.Workspace, cfg: Config) -> dict:
    """Recorded options: the source file is an input (hashed), not an option; video-only options only for videos,
    photo-only ones only for photos."""
    from dataclasses import asdict

    d = {k: v for k, v in asdict(cfg).items() if k not in ("image", "video")}
    if not cfg.video:
        for k in ("frames", "fps", "size", "fit", "short", "source_camera", "align", "source_scale"):
            d.pop(k)
    return d


# ---------------------------------------------------------------------------------------------------------------
# The stage


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Build the cache of the workspace's photo(s) or video."""
    if _source_kind(ws, cfg) == "video":
        return _build_video(ws, cfg)
    photos = _recorded_photos(ws)
    return _build_photos(ws, cfg, photos) if photos else _build_photo(ws, cfg)


def _build_photo(ws: W.Workspace, cfg: Config) -> W.StageResult:
    from PIL import Image

    from shotsmith.media import read_image, resize_image

    t0 = time.perf_counter()
    image_name = _recorded(ws, "image")
    image_path = ws.path(image_name)
    backend, why = _depth_backend(cfg)
    rgb_full = read_image(image_path)
    src_h, src_w = rgb_full.shape[:2]
    focal_35 = None
    try:
        with Image.open(image_path) as im:
            focal_35 = exif_focal_35mm(im)
    except OSError:
        focal_35 = None
    w, h = check_cache_size(image_path, src_w, src_h, cfg.max_pixels)
    rgb = resize_image(rgb_full, w, h)
    del rgb_full
    notes: list[str] = []
    if (w, h) != (src_w, src_h):
        notes.append(
            f"cache resolution {w}x{h} (the image is {src_w}x{src_h}; --max-pixels {cfg.max_pixels})"
        )

    t_depth = time.perf_counter()
    backend.load()
    depth_backend, intrinsics, fov_source, depth_notes, depth_kind = _photo_depth(
        backend, rgb, image_path, cfg, focal_35
    )
    t_depth = time.perf_counter() - t_depth
    notes.extend(depth_notes)
    depth, scale = normalize_depth(depth_backend)
    num_valid = int(np.count_nonzero(depth > 0))
    if cfg.filter_mode == "edges":
        depth, keep = snap_flying_pixels(depth, rgb, cfg.filter_threshold)
    else:
        keep = flying_pixel_mask(depth, cfg.filter_threshold)
    depth = np.where(keep, depth, np.float32(0)).astype(np.float32)
    num_points = int(np.count_nonzero(keep))
    if num_points == 0:
        raise InputError(
            f"{image_path}: every point was dropped by the flying-pixel filter (threshold {cfg.filter_threshold}); "
            "raise --filter-threshold or set it to 0"
        )
    points = unproject_depth(depth, intrinsics)[keep]  # world = source camera (identity pose)
    colors = rgb[keep]

    info_json = A.CacheInfo(
        width=w,
        height=h,
        intrinsics=[float(x) for x in intrinsics],
        world_from_camera=np.eye(4).tolist(),
        scale_to_backend_units=float(scale),
        backend_units="metres" if depth_kind == "metric" else "relative",
        backend=backend.name,
        backend_version=backend.version(),
        model=backend.model,
        image=image_name,
        num_points=num_points,
        filter_threshold=float(cfg.filter_threshold),
        fov_source=fov_source,
        subject_distance_backend_units=float(scale),
        source_width=src_w,
        source_height=src_h,
        num_flying_pixels=num_valid - num_points,
    )
    outputs = A.write_cache(ws, info_json, depth, rgb, points, colors)
    for stale in (W.CACHE_SOURCES, W.CACHE_PHOTOS):  # a several-photo cache built here before
        ws.path(stale).unlink(missing_ok=True)
    for line in notes:
        note(line)
    return W.StageResult(
        outputs=outputs,
        backend_version=info_json.backend_version,
        extra={
            "why": why,
            "notes": notes,
            "num_points": num_points,
            "fov_source": fov_source,
            "seconds_depth": round(t_depth, 3),
            "seconds_total": round(time.perf_counter() - t0, 3),
        },
    )


def _photo_depth(backend, rgb: np.ndarray, image_path, cfg: Config, focal_35: float | None):
    """(depth in backend units, 0 = invalid; intrinsics; fov source; notes) of one photo at cache resolution."""
    from shotsmith.camera import fov_from_focal
    from shotsmith.geometry import focal_px_from_35mm

    h, w = rgb.shape[:2]
    if hasattr(getattr(backend, "settings", None), "fov_x"):
        if cfg.fov is not None:
            backend.settings.fov_x = cfg.fov
        elif focal_35:
            backend.settings.fov_x = fov_from_focal(focal_px_from_35mm(focal_35, w, h), w)
    result = backend(rgb)
    depth, _ = sanitize_depth(result.depth)
    if depth.shape != (h, w):
        raise InputError(f"depth backend {backend.name!r} returned {depth.shape}, expected {(h, w)}")
    if result.mask is not None:
        depth = np.where(result.mask, depth, np.float32(0))
    if not (depth > 0).any():
        raise InputError(
            f"depth backend {backend.name!r} found no valid depth in {image_path}; try --depth prior"
        )
    intrinsics, fov_source = choose_intrinsics(w, h, cfg.fov, focal_35, result.intrinsics)
    return depth, intrinsics, fov_source, list(result.notes), result.kind


def _build_photos(ws: W.Workspace, cfg: Config, names: list[str]) -> W.StageResult:
    """One scene from several photos (`shotsmith.multiview`): pycolmap's cameras, each photo's depth fitted to
    the sparse points, one fused cache in the world of the first photo; cache/depth.npy and image.png are the first
    photo's, points.ply every photo's points, sources.npy each point's photo, photos.json the cameras."""
    import tempfile
    from pathlib import Path

    from PIL import Image

    from shotsmith.media import read_image, resize_image
    from shotsmith.multiview import fuse_photos, register_photos, to_scene

    t0 = time.perf_counter()
    backend, why = _depth_backend(cfg)
    backend.load()
    from shotsmith.multiview import SFM_MAX_SIDE

    rgbs, raws, intrs, sources, notes, kinds = [], [], [], [], [], []
    sfm_rgbs: list[np.ndarray] = []
    sizes: list[tuple[int, int]] = []
    src_size: tuple[int, int] | None = None
    for name in names:
        path = ws.path(name)
        full = read_image(path)
        try:
            with Image.open(path) as im:
                focal_35 = exif_focal_35mm(im)
        except OSError:
            focal_35 = None
        w, h = check_cache_size(path, full.shape[1], full.shape[0], cfg.max_pixels)
        rgb = resize_image(full, w, h)
        full_w, full_h = full.shape[1], full.shape[0]
        k = min(1.0, max(SFM_MAX_SIDE, w, h) / max(full_w, full_h))  # SfM: at least the cache's resolution
        sw, sh = max(1, round(full_w * k)), max(1, round(full_h * k))
        sfm_rgbs.append(rgb if (sw, sh) == (w, h) else resize_image(full, sw, sh))
        del full
        depth, intr, fov_source, depth_notes, kind = _photo_depth(backend, rgb, path, cfg, focal_35)
        rgbs.append(rgb)
        raws.append(depth)
        intrs.append(intr)
        sources.append(fov_source)
        notes.extend(f"{Path(name).name}: {n}" for n in depth_notes)
        kinds.append(kind)
        sizes.append((w, h))
        if not src_size:
            src_size = (full_w, full_h)
    t_depth = time.perf_counter() - t0
    labels = [str(Path(n).name) for n in names]
    with tempfile.TemporaryDirectory(prefix="shotsmith-sfm-") as scratch:
        factors = [
            (p.shape[1] / c.shape[1], p.shape[0] / c.shape[0]) for p, c in zip(sfm_rgbs, rgbs, strict=True)
        ]
        sfm_intr = np.array([k * (fx, fy, fx, fy) for k, (fx, fy) in zip(intrs, factors, strict=True)])
        reg = register_photos(sfm_rgbs, sfm_intr, scratch, names=labels)
        reg = reg.rescaled([(1.0 / fx, 1.0 / fy) for fx, fy in factors])
    scene = to_scene(raws, reg, rgbs)
    fused = fuse_photos(scene, rgbs, cfg.filter_threshold, cfg.filter_mode)  # type: ignore[arg-type]
    fit0 = scene.fits[0]
    to_backend = scene.subject_sfm / fit0.scale  # photo 0: backend depth ~ this x scene depth (shift aside)
    w0, h0 = sizes[0]
    info_json = A.CacheInfo(
        width=w0,
        height=h0,
        intrinsics=[float(x) for x in scene.intrinsics[0]],
        world_from_camera=np.eye(4).tolist(),
        scale_to_backend_units=float(to_backend),
        backend_units="metres" if kinds[0] == "metric" else "relative",
        backend=backend.name,
        backend_version=backend.version(),
        model=backend.model,
        image=names[0],
        num_points=int(len(fused.points)),
        filter_threshold=float(cfg.filter_threshold),
        fov_source=sources[0],
        subject_distance_backend_units=float(to_backend),
        source_width=int(src_size[0]) if src_size else w0,
        source_height=int(src_size[1]) if src_size else h0,
        num_flying_pixels=int(np.count_nonzero(scene.depths[0] > 0) - np.count_nonzero(fused.depths[0] > 0)),
    )
    facts = {
        "sfm": {
            "model": reg.model,
            "model_reason": reg.model_reason,
            "registered": int(reg.registered.sum()),
            "num_points3d": reg.num_points3d,
            "reprojection_error_px": reg.reprojection_error_px,
            "seconds": round(reg.seconds, 3),
        },
        "subject_distance_sfm_units": scene.subject_sfm,
        "photos": [
            {
                "fov_source": src,
                "depth_fit": {
                    "scale": f.scale,
                    "shift": f.shift,
                    "sparse_points": f.num_points,
                    "inliers": f.num_inliers,
                    "median_relative_error": round(f.median_error, 5),
                },
                "points_added": added,
            }
            for src, f, added in zip(sources, scene.fits, fused.added, strict=True)
        ],
    }
    cams = A.PhotoCameras(names, scene.world_from_camera, scene.intrinsics, sizes, facts)
    outputs = A.write_cache(ws, info_json, fused.depths[0], rgbs[0], fused.points, fused.colors)
    outputs += [A.write_cache_sources(ws, fused.source), A.write_photo_cameras(ws, cams)]
    for line in notes:
        note(line)
    return W.StageResult(
        outputs=outputs,
        backend_version=info_json.backend_version,
        extra={
            "why": why,
            "notes": notes,
            "photos": len(names),
            "num_points": int(len(fused.points)),
            "points_added": fused.added,
            "sparse_points": reg.num_points3d,
            "reprojection_error_px": reg.reprojection_error_px,
            "seconds_depth": round(t_depth, 3),
            "seconds_sfm": round(reg.seconds, 3),
            "seconds_total": round(time.perf_counter() - t0, 3),
        },
    )


def _build_video(ws: W.Workspace, cfg: Config) -> W.StageResult:
    from dataclasses import asdict
    from typing import cast

    from shotsmith.camera import default_intrinsics
    from shotsmith.geometry import subject_depth
    from shotsmith.recapture import (
        AlignMode,
        AlignOptions,
        align_depths,
        build_cache4d,
        depth_for_frames,
        load_depth_video,
        source_cameras,
    )
    from shotsmith.video import decode_video

    video_name = _recorded(ws, "video")
    timings: dict = {}
    t0 = time.perf_counter()
    decode = cfg.decode_options()
    decode.validate()
    clip = decode_video(ws.path(video_name), decode)
    timings["decode_s"] = round(time.perf_counter() - t0, 3)
    notes: list[str] = list(clip.notes)
    backend, _why = _depth_backend(cfg)
    t0 = time.perf_counter()
    if backend is None:
        raw, model_intr = load_depth_video(cfg.depth, clip), None
    else:
        kinds: list[str] = []
        raw, model_intr, depth_notes = depth_for_frames(clip.frames, backend, kinds=kinds)
        notes += depth_notes
    timings["depth_s"] = round(time.perf_counter() - t0, 3)
    w, h = clip.fit.target_size
    if cfg.fov is None and model_intr is None:
        sw, sh = clip.fit.source_size
        intrinsics, fov_source = clip.fit.intrinsics(default_intrinsics(sw, sh)), "default"
    else:
        intrinsics, fov_source = choose_intrinsics(w, h, cfg.fov, None, model_intr)
    content = clip.content_mask
    t1 = time.perf_counter()
    d0 = np.where(content, raw[0], 0)
    if not (d0 > 0).any():
        raise InputError(f"{ws.path(video_name)}: no valid depth in frame 0; try another --depth")
    scale0 = subject_depth(d0)
    if backend is None:
        depth_units = "file"
    else:
        depth_units = "metres" if kinds and all(k == "metric" for k in kinds) else "relative"
    poses, cam_facts = source_cameras(
        cfg.source_camera,
        clip,
        (d0 / scale0).astype(np.float32),
        intrinsics,
        notes,
        scale=cfg.source_scale,
        depth_units=depth_units,
        depth_scale=float(scale0),
    )
    if "pose_scale" in cam_facts:
        info(
            f"source camera: scale {cam_facts['pose_scale']:.4g} ({cam_facts['pose_scale_method']}, confidence "
            f"{cam_facts['pose_scale_confidence']:.2f}: {cam_facts['pose_scale_detail']})"
        )
    timings["cameras_s"] = round(time.perf_counter() - t1, 3)
    t2 = time.perf_counter()
    # aligned over the raw depth (its buffer is not needed after): one video-sized float32 array less
    aligned, report = align_depths(
        raw,
        clip.frames,
        poses,
        intrinsics,
        AlignOptions(mode=cast(AlignMode, cfg.align)),
        valid=content,
        inplace=True,
    )
    del raw
    cache = build_cache4d(
        aligned,
        clip.frames,
        poses,
        intrinsics,
        cfg.filter_threshold,
        valid=content,
        filter_mode=cfg.filter_mode,
        static=False,
    )
    timings["align_s"] = round(time.perf_counter() - t2, 3)

    def static_mask() -> np.ndarray:
        t_static = time.perf_counter()
        mask = cache.static_mask()
        timings["static_s"] = round(time.perf_counter() - t_static, 3)
        return mask

    # the static evidence is computed on a thread while frames.npz is written (its mask is the last member):
    # static_s and write_cache_s overlap
    from concurrent.futures import ThreadPoolExecutor

    t3 = time.perf_counter()
    with ThreadPoolExecutor(1, thread_name_prefix="static-evidence") as pool:
        static_job = pool.submit(static_mask)
        outputs = [A.write_cache4d(ws, cache, clip.fps, static=static_job.result)]
    static = cache.static_mask()
    n_points = int(np.count_nonzero(cache.depth))
    n_static = int(sum(np.count_nonzero(static[t] & (cache.depth[t] > 0)) for t in range(len(cache))))
    cam_facts["static_fraction"] = round(n_static / n_points if n_points else 0.0, 4)
    depth0 = cache.depth[0]
    keep = depth0 > 0
    info_json = A.CacheInfo(
        width=w,
        height=h,
        intrinsics=[float(x) for x in intrinsics],
        scale_to_backend_units=float(scale0),
        backend_units="metres" if depth_units == "metres" else "relative",
        backend=backend.name if backend is not None else "file",
        backend_version=backend.version() if backend is not None else "",
        model=getattr(backend, "model", "") if backend is not None else str(cfg.depth),
        image=W.CACHE_IMAGE,
        num_points=int(keep.sum()),
        filter_threshold=float(cfg.filter_threshold),
        fov_source=fov_source,  # type: ignore[arg-type]
        subject_distance_backend_units=float(scale0),
        source_width=clip.info.width,
        source_height=clip.info.height,
        num_flying_pixels=int(((cache.seen[0] > 0) & ~keep).sum()),
        kind="4d",
        video={
            "video": video_name,
            "num_frames": len(cache),
            "fps": clip.fps,
            "fit": asdict(clip.fit),
            "has_audio": bool(clip.info.has_audio),
            "audio_seconds": float(clip.audio_seconds),
            "source_world_from_camera": cache.world_from_camera.tolist(),
            "depth_scales": report.scales,
            "shared_fraction": report.shared_fraction,
            **cam_facts,
        },
    )
    points = unproject_depth(depth0, intrinsics)[keep]
    outputs += A.write_cache(ws, info_json, depth0, cache.rgb[0], points, cache.rgb[0][keep])
    timings["write_cache_s"] = round(time.perf_counter() - t3, 3)
    for line in notes:
        note(line)
    return W.StageResult(
        outputs=outputs,
        backend_version=info_json.backend_version,
        extra={"frames": len(cache), "notes": notes, **cam_facts, **timings},
    )


def _report(ws: W.Workspace, rec: W.StageRecord) -> str:
    cache = A.read_cache_info(ws)
    fx = cache.intrinsics[0]
    kind = f" x {cache.video.get('num_frames')} frames" if cache.is_4d else ""
    if not cache.is_4d and rec.extra.get("photos"):
        kind = f" from {rec.extra['photos']} photos"
    return (
        f"cache: {cache.num_points:,} points at {cache.width}x{cache.height}{kind}, fx {fx:.1f} px "
        f"({cache.fov_source}), subject at {cache.subject_distance_backend_units:.3g} {cache.backend_units} "
        f"-> {ws.path(W.CACHE_DIR)}"
    )


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    prepare=_prepare,
    reads=_reads,
    requires=lambda ws, cfg: [],
    writes=(
        W.CACHE_DEPTH,
        W.CACHE_IMAGE,
        W.CACHE_POINTS,
        W.CACHE_JSON,
        W.CACHE_FRAMES,
        W.CACHE_SOURCES,
        W.CACHE_PHOTOS,
    ),
    summary="Estimate depth and lift the photo (or a video's frames) to points in scene units: cache/.",
    examples=(
        "shotsmith build-3d-cache -w shots/x --image photo.jpg --depth prior",
        "shotsmith build-3d-cache -w shots/x --image a.jpg --image b.jpg --image c.jpg",
        "shotsmith build-3d-cache -w shots/x --video clip.mp4 --source-camera estimate",
    ),
    backend=_backend,
    version=lambda cfg: getattr(_depth_backend(cfg, announce=False)[0], "version", lambda: "")(),
    report=_report,
    options=_options,
)
