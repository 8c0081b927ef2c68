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


def _source_size(ws: W.Workspace, info: A.CacheInfo) -> tuple[int, int]:
    """(width, height) of the user's source image (pixels of --at-pixel)."""
    if info.image and ws.exists(info.image):
        from PIL import Image

        with Image.open(ws.path(info.image)) as im:
            return im.size
    return info.width, info.height


def _cameras(ws: W.Workspace, info: A.CacheInfo) -> tuple[np.ndarray, float]:
    """Centres of every camera that will look at the object and the largest focal length among them."""
    centers = [info.world_from_camera_array[:3, 3]]
    focal = float(info.intrinsics[0])
    if ws.exists(W.TRAJECTORY):
        cam = A.read_trajectory(ws)
        centers.extend(cam.centers)
        focal = max(focal, float(cam.intrinsics[:, 0].max()))
    return np.asarray(centers), focal


def _placement(p: dict) -> O.Placement:
    return O.Placement(
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


def place_object(ws: W.Workspace, record: dict, seed: int = 0, obj: O.ObjectModel | None = None) -> dict:
    """Build one object's points from its record (source file + placement); write its PLY; return the record.
    `obj` is the already loaded object (else the record's source file in input/ is read)."""
    info = A.read_cache_info(ws)
    obj = obj or O.load_object(ws.path(record["source"]))
    centers, focal = _cameras(ws, info)
    try:
        world, colors, radius, world_from_object, scale = O.placed_points(
            obj, _placement(record["placement"]), centers, focal, seed
        )
    except InputError as exc:
        raise InputError(f"object {record['name']!r}: {exc}") from exc
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
    info, depth = A.read_cache_info(ws), A.read_cache_depth(ws)
    pose, intr = info.world_from_camera_array, info.intrinsics_array
    if cfg.at is not None:
        at = np.asarray(cfg.at, float)
        if at.shape != (3,) or not np.isfinite(at).all():
            raise InputError(f"--at {cfg.at}: give three finite numbers X,Y,Z in scene units")
        at_pixel = None
    elif cfg.at_pixel is not None:
        at = O.surface_point(depth, intr, pose, _source_size(ws, info), *cfg.at_pixel)
        at_pixel = list(cfg.at_pixel)
    else:
        raise InputError("insert-object: say where with --at-pixel U,V (on the source image) or --at X,Y,Z")
    up, ground = O.scene_up(depth, intr, pose) if cfg.upright else (np.array([0.0, -1.0, 0.0]), False)
    height = cfg.height
    if height is None and cfg.scale is None:
        height = O.default_height(at, pose, intr[1], info.height)
    clearance = 0.0
    if at_pixel is not None:
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
        at, clearance = O.in_front_of_surface(obj, placement, depth, intr, pose)
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
