"""Stage `insert-object`: place a mesh or point cloud in the scene cache, as `objects/<name>.ply` plus a record
in `objects/objects.json` (placement, transform, mode). `render-guidance` draws the objects: `fused` ones in the
same z-buffer as the scene, `layered` ones as a separate layer with their own mask (guidance/object_mask.mp4).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from shotsmith import objects as O
from shotsmith import workspace as W
from shotsmith.errors import InputError, WorkspaceError
from shotsmith.ply import write_points

OBJECTS_SCHEMA = 1


@dataclass
class InsertConfig:
    """Options of `shotsmith insert-object`."""

    object_path: str | None = None
    """The mesh (.obj .glb .gltf .ply .stl) or point cloud (.ply) to insert."""
    name: str | None = None
    """Name in objects.json (default: the file's stem)."""
    at_pixel: tuple[float, float] | None = None
    """(u, v) pixel of the source image the object stands on."""
    at: tuple[float, float, float] | None = None
    """Exact anchor point in scene units (world = source camera)."""
    anchor: str = "bottom"
    """"bottom" (stands on the point) or "center"."""
    height: float | None = None
    """Object height in scene units (default: a quarter of the image height at that depth)."""
    scale: float | None = None
    """Uniform scale instead of a height."""
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    upright: bool = False
    """Stand along the scene's gravity estimate (the ground plane when found) instead of the camera's up."""
    up_axis: str = "y"
    """The object file's up axis (y or z)."""
    mode: str = "layered"
    """"fused" (merged with the scene) or "layered" (own layer and mask)."""
    remove: str | None = None
    """Remove the object of this name instead of inserting."""
    reapply: bool = False
    """Rebuild every object from the placements in objects.json (after editing it)."""
    seed: int = 0


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return s or "object"


def _load_cache(ws: W.Workspace) -> tuple[dict, np.ndarray]:
    info = ws.read_json(W.CACHE_JSON, "build-3d-cache")
    depth = np.load(ws.require(W.CACHE_DEPTH, "build-3d-cache"), allow_pickle=False)
    return info, depth


def _source_size(ws: W.Workspace, info: dict) -> tuple[int, int]:
    """(width, height) of the user's source image (pixels of --at-pixel)."""
    image = info.get("image")
    if image and ws.exists(image):
        from PIL import Image

        with Image.open(ws.path(image)) as im:
            return im.size
    return int(info["width"]), int(info["height"])


def surface_point(ws: W.Workspace, info: dict, depth: np.ndarray, u: float, v: float) -> np.ndarray:
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

    cam = pixel_ray(j, i, info["intrinsics"]) * z
    return (
        np.asarray(info["world_from_camera"], float)[:3, :3] @ cam
        + np.asarray(info["world_from_camera"], float)[:3, 3]
    )


def _scene_up(info: dict, depth: np.ndarray, upright: bool) -> tuple[np.ndarray, bool]:
    if not upright:
        return np.array([0.0, -1.0, 0.0]), False
    from shotsmith.geometry import unproject_depth

    h, w = depth.shape
    ys, xs = np.nonzero(depth > 0)
    step = max(1, len(ys) // 50000)
    ys, xs = ys[::step], xs[::step]
    pts = unproject_depth(depth, info["intrinsics"])[ys, xs].astype(np.float64)
    up, found = O.estimate_up(pts, ys, h)
    rot = np.asarray(info["world_from_camera"], float)[:3, :3]
    return rot @ up, found


def _camera_centers(ws: W.Workspace, info: dict) -> tuple[np.ndarray, float]:
    """Centres of every camera that will look at the object and the largest focal length among them."""
    centers = [np.asarray(info["world_from_camera"], float)[:3, 3]]
    focal = float(info["intrinsics"][0])
    if ws.exists(W.TRAJECTORY):
        from shotsmith.formats import read_trajectory

        cam = read_trajectory(ws.path(W.TRAJECTORY))
        centers.extend(cam.centers)
        focal = max(focal, float(cam.intrinsics[:, 0].max()))
    return np.asarray(centers), focal


def read_objects(ws: W.Workspace) -> dict:
    if not ws.exists(W.OBJECTS_JSON):
        return {"schema_version": OBJECTS_SCHEMA, "objects": []}
    data = ws.read_json(W.OBJECTS_JSON)
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise WorkspaceError(f"{ws.path(W.OBJECTS_JSON)}: expected {{'objects': [...]}}; fix or delete it")
    return data


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
    center_world = O.transform_points(world_from_object, obj.vertices.mean(axis=0, keepdims=True))[0]
    nearest = max(float(np.min(np.linalg.norm(centers - center_world, axis=1))), 0.05)
    pts, colors, radius = O.object_points(obj, scale, focal / nearest, seed=seed)
    # object_points samples in object-file axes scaled by 1: apply the full transform (which carries the scale).
    world = O.transform_points(world_from_object, pts)
    name = record["name"]
    with ws.atomic(W.object_ply(name)) as tmp:
        write_points(tmp, world, colors)
    record.update(
        world_from_object=world_from_object.tolist(),
        scale=scale,
        num_points=len(world),
        radius=float(radius),
        ply=W.object_ply(name),
        bbox_world=[world.min(axis=0).tolist(), world.max(axis=0).tolist()],
    )
    return record


def _insert(ws: W.Workspace, cfg: InsertConfig) -> W.StageResult:
    data = read_objects(ws)
    if cfg.remove:
        names = [o["name"] for o in data["objects"]]
        if cfg.remove not in names:
            raise InputError(
                f"--remove {cfg.remove!r}: no such object; placed objects: {', '.join(names) or 'none'}"
            )
        data["objects"] = [o for o in data["objects"] if o["name"] != cfg.remove]
        ws.path(W.object_ply(cfg.remove)).unlink(missing_ok=True)
        ws.write_json(W.OBJECTS_JSON, data)
        return W.StageResult(outputs=[W.OBJECTS_JSON], extra={"removed": cfg.remove})
    if cfg.reapply:
        for rec in data["objects"]:
            place_object(ws, rec, cfg.seed)
        ws.write_json(W.OBJECTS_JSON, data)
        return W.StageResult(outputs=[W.OBJECTS_JSON, *[o["ply"] for o in data["objects"]]])
    if not cfg.object_path:
        raise InputError("insert-object: give an OBJECT file (or --remove NAME / --reapply)")
    if cfg.mode not in ("fused", "layered"):
        raise InputError(f"--mode {cfg.mode!r}: choose fused or layered")
    if cfg.scale is not None and not cfg.scale > 0:
        raise InputError(f"--scale {cfg.scale}: the scale must be positive")
    if cfg.height is not None and not cfg.height > 0:
        raise InputError(f"--height {cfg.height}: the height must be positive")
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
        z = float((np.linalg.inv(np.asarray(info["world_from_camera"], float)) @ np.append(at, 1.0))[2])
        height = 0.25 * int(info["height"]) * max(z, 1e-3) / float(info["intrinsics"][1])
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
            up_axis=cfg.up_axis,
        )
        m, _ = O.placement_transform(obj.vertices, placement)
        world = O.transform_points(m, obj.vertices)
        to_cam = np.linalg.inv(np.asarray(info["world_from_camera"], float))
        clearance = O.surface_clearance(
            O.transform_points(to_cam, world),
            O.transform_points(to_cam, at[None])[0],
            depth,
            info["intrinsics"],
        )
        ray = at - np.asarray(info["world_from_camera"], float)[:3, 3]
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
            "up_axis": cfg.up_axis,
            "upright": cfg.upright,
            "ground_plane_found": ground,
            "surface_clearance": clearance,
        },
    }
    record = place_object(ws, record, cfg.seed, obj=obj)
    ws.copy_input(src, Path(source).name)
    data["objects"] = [o for o in data["objects"] if o["name"] != name] + [record]
    ws.write_json(W.OBJECTS_JSON, data)
    return W.StageResult(
        outputs=[W.OBJECTS_JSON, record["ply"]], extra={"name": name, "points": record["num_points"]}
    )


def run(ws: W.Workspace, cfg: InsertConfig, *, force: bool = False) -> W.StageRecord:
    """Insert, remove or re-apply objects (see `InsertConfig`)."""
    external = {"object": cfg.object_path} if cfg.object_path else {}
    return W.run_stage(
        ws,
        "insert-object",
        lambda: _insert(ws, cfg),
        options=asdict(cfg) | {"object_path": Path(cfg.object_path).name if cfg.object_path else None},
        inputs=[W.CACHE_DEPTH, W.CACHE_JSON, W.TRAJECTORY, W.OBJECTS_JSON],
        external=external,
        backend="embedded",
        force=force,
    )


def layers(ws: W.Workspace) -> list[dict]:
    """The placed objects with their points loaded: dicts with name, mode, points, colors, radius."""
    from shotsmith.ply import read_points

    out = []
    for rec in read_objects(ws)["objects"]:
        pts, colors = read_points(ws.require(rec["ply"], "insert-object --reapply"))
        out.append(
            {
                "name": rec["name"],
                "mode": rec.get("mode", "layered"),
                "points": pts,
                "colors": colors,
                "radius": float(rec.get("radius", 0.0)),
            }
        )
    return out


__all__ = ["InsertConfig", "run", "layers", "read_objects", "place_object", "surface_point"]
