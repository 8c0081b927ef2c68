"""Stage `insert-object`: place a mesh or point cloud in the scene cache, as `objects/<name>.ply` plus a record
in `objects/objects.json` (placement, transform, mode). `render-guidance` draws the objects: `fused` ones in the
same z-buffer as the scene, `layered` ones as a separate layer with their own mask (guidance/object_mask.mp4).
The geometry (placement transforms, sampling, the ground plane, surface clearance) is `shotsmith.objects`'.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import artifacts as A
from shotsmith import objects as O
from shotsmith import workspace as W
from shotsmith.errors import InputError
from shotsmith.geometry import transform_points
from shotsmith.options import opt, parse_numbers
from shotsmith.stage import Stage

NAME = "insert-object"


@dataclass
class Config:
    """Options of `shotsmith insert-object`."""

    object_path: str | None = opt(None, argument=True, file=True, metavar="OBJECT")
    """Mesh (.obj .glb .gltf .ply .stl) or point cloud (.ply) to insert."""
    name: str | None = None
    """Object name in objects.json (default: the file's stem)."""
    at_pixel: tuple[float, float] | None = opt(None, parse=parse_numbers(2, "--at-pixel"), metavar="U,V")
    """U,V: stand on the surface seen at this pixel of the source image."""
    at: tuple[float, float, float] | None = opt(None, parse=parse_numbers(3, "--at"), metavar="X,Y,Z")
    """X,Y,Z anchor in scene units (world = source camera)."""
    anchor: Literal["bottom", "center"] = "bottom"
    """bottom (stands on the point) or center."""
    height: float | None = None
    """Object height in scene units (default: a quarter of the image height at that depth)."""
    scale: float | None = None
    """Uniform scale (instead of --height)."""
    yaw: float = 0.0
    """Degrees about the up axis."""
    pitch: float = 0.0
    """Degrees about the object's x axis."""
    roll: float = 0.0
    """Degrees about the object's forward axis."""
    upright: bool = False
    """Stand along the scene's gravity (the ground plane when found) instead of the camera's up."""
    object_up: Literal["y", "z"] = "y"
    """The object file's up axis: y or z."""
    mode: Literal["fused", "layered"] = "layered"
    """fused (merged into the scene) or layered (own layer and mask)."""
    remove: str | None = None
    """Remove the object of this name instead of inserting."""
    reapply: bool = False
    """Rebuild every object from the placements in objects.json (after editing it)."""
    seed: int = 0
    """Seed of the object's surface sampling."""

    def validate(self) -> None:
        if self.mode not in ("fused", "layered"):
            raise InputError(f"--mode {self.mode!r}: choose fused or layered")
        if self.object_up not in ("y", "z"):
            raise InputError(f"--object-up {self.object_up!r}: choose y or z")
        if self.scale is not None and not self.scale > 0:
            raise InputError(f"--scale {self.scale}: the scale must be positive")
        if self.height is not None and not self.height > 0:
            raise InputError(f"--height {self.height}: the height must be positive")
        if self.object_path and not Path(self.object_path).exists():
            raise InputError(f"--object {self.object_path}: no such file; check the path")


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return s or "object"


def _load_cache(ws: W.Workspace) -> tuple[A.CacheInfo, np.ndarray]:
    return A.read_cache_info(ws), A.read_cache_depth(ws)


def _source_size(ws: W.Workspace, info: A.CacheInfo) -> tuple[int, int]:
    """(width, height) of the user's source image (pixels of --at-pixel)."""
    if info.image and ws.exists(info.image):
        from PIL import Image

        with Image.open(ws.path(info.image)) as im:
            return im.size
    return info.width, info.height


def surface_point(ws: W.Workspace, info: A.CacheInfo, depth: np.ndarray, u: float, v: float) -> np.ndarray:
    """World point seen at source-image pixel (u, v), through the cache depth."""
    sw, sh = _source_size(ws, info)
    if not (0 <= u < sw and 0 <= v < sh):
        raise InputError(
            f"--at-pixel {u:g},{v:g}: outside the {sw}x{sh} source image; give a pixel inside it"
        )
    h, w = depth.shape
    x, y = u * w / sw, v * h / sh
    i, j = min(int(y), h - 1), min(int(x), w - 1)
    z = float(depth[i, j])
    if not z > 0:
        raise InputError(
            f"--at-pixel {u:g},{v:g}: the cache has no depth there (sky, edge or invalid); choose another pixel or --at"
        )
    from shotsmith.geometry import pixel_ray

    cam = pixel_ray(j, i, info.intrinsics) * z
    m = info.world_from_camera_array
    return m[:3, :3] @ cam + m[:3, 3]


def _scene_up(info: A.CacheInfo, depth: np.ndarray, upright: bool) -> tuple[np.ndarray, bool]:
    if not upright:
        return np.array([0.0, -1.0, 0.0]), False
    from shotsmith.geometry import unproject_depth

    h, w = depth.shape
    ys, xs = np.nonzero(depth > 0)
    step = max(1, len(ys) // 50000)
    ys, xs = ys[::step], xs[::step]
    pts = unproject_depth(depth, info.intrinsics)[ys, xs].astype(np.float64)
    up, found = O.estimate_up(pts, ys, h)
    rot = info.world_from_camera_array[:3, :3]
    return rot @ up, found


def _camera_centers(ws: W.Workspace, info: A.CacheInfo) -> tuple[np.ndarray, float]:
    """Centres of every camera that will look at the object and the largest focal length among them."""
    centers = [info.world_from_camera_array[:3, 3]]
    focal = float(info.intrinsics[0])
    if ws.exists(W.TRAJECTORY):
        cam = A.read_trajectory(ws)
        centers.extend(cam.centers)
        focal = max(focal, float(cam.intrinsics[:, 0].max()))
    return np.asarray(centers), focal


def place_object(ws: W.Workspace, record: dict, seed: int = 0, obj: O.ObjectModel | None = None) -> dict:
    """Build one object's points from its record (source file + placement); write its PLY; return the record.
    `obj` is the already loaded object (else the record's source file in input/ is read)."""
    info, depth = _load_cache(ws)
    obj = obj or O.load_object(ws.path(record["source"]))
    p = dict(record["placement"])
    placement = O.Placement(
        at=tuple(p["at"]),
        anchor=p.get("anchor", "bottom"),
        height=p.get("height"),
        scale=p.get("scale", 1.0) if p.get("scale") is not None else 1.0,
        yaw=p.get("yaw", 0.0),
        pitch=p.get("pitch", 0.0),
        roll=p.get("roll", 0.0),
        up=tuple(p.get("up", (0.0, -1.0, 0.0))),
        up_axis=p.get("up_axis", "y"),
    )
    world_from_object, scale = O.placement_transform(obj.vertices, placement)
    centers, focal = _camera_centers(ws, info)
    inside = O.encloses(world_from_object, obj.vertices, centers)
    if len(inside):
        raise InputError(
            f"object {record['name']!r} at {list(np.round(placement.at, 3))} would enclose the camera "
            f"(camera {int(inside[0])}); make it smaller (--height/--scale) or place it farther (--at/--at-pixel)"
        )
    center_world = transform_points(world_from_object, obj.vertices.mean(axis=0, keepdims=True))[0]
    nearest = max(float(np.min(np.linalg.norm(centers - center_world, axis=1))), 0.05)
    pts, colors, radius = O.object_points(obj, scale, focal / nearest, seed=seed)
    # object_points samples in object-file axes scaled by 1: apply the full transform (which carries the scale).
    world = transform_points(world_from_object, pts)
    name = record["name"]
    A.write_object_points(ws, name, world, colors)
    record.update(
        world_from_object=world_from_object.tolist(),
        scale=scale,
        num_points=len(world),
        radius=float(radius),
        ply=W.object_ply(name),
        bbox_world=[world.min(axis=0).tolist(), world.max(axis=0).tolist()],
    )
    return record


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Insert, remove or re-apply objects (see `Config`)."""
    data = A.read_objects(ws)
    if cfg.remove:
        names = [o["name"] for o in data["objects"]]
        if cfg.remove not in names:
            raise InputError(
                f"--remove {cfg.remove!r}: no such object; placed objects: {', '.join(names) or 'none'}"
            )
        data["objects"] = [o for o in data["objects"] if o["name"] != cfg.remove]
        ws.path(W.object_ply(cfg.remove)).unlink(missing_ok=True)
        A.write_objects(ws, data)
        return W.StageResult(outputs=[W.OBJECTS_JSON], extra={"removed": cfg.remove})
    if cfg.reapply:
        for rec in data["objects"]:
            place_object(ws, rec, cfg.seed)
        A.write_objects(ws, data)
        return W.StageResult(outputs=[W.OBJECTS_JSON, *[o["ply"] for o in data["objects"]]])
    if not cfg.object_path:
        raise InputError("insert-object: give an OBJECT file (or --remove NAME / --reapply)")
    src = Path(cfg.object_path)
    obj = O.load_object(src)  # validated before anything is written
    info, depth = _load_cache(ws)
    if cfg.at is not None:
        at = np.asarray(cfg.at, float)
        if at.shape != (3,) or not np.isfinite(at).all():
            raise InputError(f"--at {cfg.at}: give three finite numbers X,Y,Z in scene units")
        at_pixel = None
    elif cfg.at_pixel is not None:
        at = surface_point(ws, info, depth, *cfg.at_pixel)
        at_pixel = list(cfg.at_pixel)
    else:
        raise InputError("insert-object: say where with --at-pixel U,V (on the source image) or --at X,Y,Z")
    up, ground = _scene_up(info, depth, cfg.upright)
    height = cfg.height
    if height is None and cfg.scale is None:
        # A quarter of the image height at the anchor's depth.
        z = float((np.linalg.inv(info.world_from_camera_array) @ np.append(at, 1.0))[2])
        height = 0.25 * info.height * max(z, 1e-3) / float(info.intrinsics[1])
    clearance = 0.0
    if at_pixel is not None:
        # Standing on the surface seen at a pixel: keep the object in front of that surface (on a wall it would
        # otherwise sink half into it; on a floor seen obliquely nothing moves).
        placement = O.Placement(
            at=tuple(at),
            anchor=cfg.anchor,
            height=height,
            scale=cfg.scale or 1.0,
            yaw=cfg.yaw,
            pitch=cfg.pitch,
            roll=cfg.roll,
            up=tuple(up),
            up_axis=cfg.object_up,
        )
        m, _ = O.placement_transform(obj.vertices, placement)
        world = transform_points(m, obj.vertices)
        to_cam = np.linalg.inv(info.world_from_camera_array)
        clearance = O.surface_clearance(
            transform_points(to_cam, world),
            transform_points(to_cam, at[None])[0],
            depth,
            info.intrinsics,
        )
        ray = at - info.world_from_camera_array[:3, 3]
        at = at - ray / np.linalg.norm(ray) * clearance
    name = _slug(cfg.name or src.stem)
    source = W.input_file(f"object_{name}{src.suffix.lower()}")
    record = {
        "name": name,
        "source": source,
        "mode": cfg.mode,
        "placement": {
            "at": at.tolist(),
            "at_pixel": at_pixel,
            "anchor": cfg.anchor,
            "height": height,
            "scale": cfg.scale,
            "yaw": cfg.yaw,
            "pitch": cfg.pitch,
            "roll": cfg.roll,
            "up": up.tolist(),
            "up_axis": cfg.object_up,
            "upright": cfg.upright,
            "ground_plane_found": ground,
            "surface_clearance": clearance,
        },
    }
    record = place_object(ws, record, cfg.seed, obj=obj)
    ws.copy_input(src, Path(source).name)
    data["objects"] = [o for o in data["objects"] if o["name"] != name] + [record]
    A.write_objects(ws, data)
    return W.StageResult(
        outputs=[W.OBJECTS_JSON, record["ply"]], extra={"name": name, "points": record["num_points"]}
    )


def _report(ws: W.Workspace, rec: W.StageRecord) -> str:
    return f"insert-object: {rec.extra}"


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=lambda ws, cfg: [W.CACHE_DEPTH, W.CACHE_JSON, W.TRAJECTORY, W.OBJECTS_JSON],
    requires=lambda ws, cfg: [W.CACHE_DEPTH, W.CACHE_JSON],
    writes=(W.OBJECTS_JSON, W.OBJECTS_DIR),
    summary="Place a mesh or point cloud in the scene cache (it stays in place as the camera moves).",
    examples=("shotsmith insert-object -w shots/x assets/cone.ply --at-pixel 256,400 --height 0.3",),
    report=_report,
    options=lambda ws, cfg: (
        asdict(cfg) | {"object_path": Path(cfg.object_path).name if cfg.object_path else None}
    ),
)
