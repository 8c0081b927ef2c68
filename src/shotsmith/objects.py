"""3D objects placed into a scene: loading meshes and point clouds, sampling meshes into coloured surface points,
estimating the scene's up direction, and the placement transform. Pure functions; no workspace names.

Object files use their own axes; by default an object's +Y is its up axis (glTF, most OBJ/PLY exports) and +Z
its front; `up_axis="z"` serves Z-up files (many STL/CAD exports). Placement produces `world_from_object`
(4, 4) in the scene's world (docs/CONVENTIONS.md: OpenCV axes, y down, 1.0 = subject distance).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotsmith.errors import FormatError, InputError
from shotsmith.geometry import (
    project_points,
)

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
#: Surface samples per square pixel of the object's largest on-screen area (2 = no holes with the splat radius).
SAMPLES_PER_PIXEL = 2.0
MAX_SAMPLES = 4_000_000


@dataclass
class ObjectModel:
    """An object as loaded: a mesh (vertices + faces + colour source) or a point cloud, in its own axes."""

    vertices: np.ndarray
    """(V, 3) float64 vertex or point positions."""
    faces: np.ndarray | None
    """(F, 3) int triangle indices, None for a point cloud."""
    colors: np.ndarray | None
    """(V, 3) uint8 per-vertex colours (point clouds and vertex-coloured meshes), or None."""
    mesh: object | None = None
    """The trimesh.Trimesh (for face colours and textures), None for point clouds."""
    source: str = ""

    @property
    def is_mesh(self) -> bool:
        return self.faces is not None and len(self.faces) > 0


def _ply_has_faces(path: Path) -> bool:
    """Whether a PLY file declares a non-empty face element (reads the header only)."""
    with open(path, "rb") as f:
        if f.readline().strip() != b"ply":
            raise FormatError(f"{path}: not a PLY file (no 'ply' magic line)")
        for _ in range(10000):
            line = f.readline()
            if not line:
                break
            words = line.split()
            if words[:1] == [b"end_header"]:
                return False
            if words[:2] == [b"element", b"face"] and len(words) >= 3:
                try:
                    return int(words[2]) > 0
                except ValueError:
                    break
    raise FormatError(f"{path}: PLY header is truncated or malformed")


def load_object(path: str | os.PathLike) -> ObjectModel:
    """Load a point cloud (.ply without faces) or a mesh (.obj, .glb/.gltf, .ply, .stl, .off)."""
    from shotsmith.ply import read_points

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such object file; check the path")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: the object file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise FormatError(
            f"{path}: unsupported object type {suffix!r}; use one of {', '.join(MESH_SUFFIXES)}"
        )
    if suffix == ".ply" and not _ply_has_faces(path):
        points, colors = read_points(path)
        if len(points) == 0:
            raise FormatError(f"{path}: the point cloud has no points")
        if not np.isfinite(points).all():
            raise FormatError(f"{path}: the point cloud has NaN or infinite coordinates")
        return ObjectModel(points.astype(np.float64), None, colors, None, str(path))
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:
        raise FormatError(f"{path}: not a readable mesh ({type(exc).__name__}: {exc})") from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0 or len(mesh.vertices) == 0:
        raise FormatError(f"{path}: the mesh has no triangles; give a mesh with faces or a point cloud")
    if not np.isfinite(mesh.vertices).all():
        raise FormatError(f"{path}: the mesh has NaN or infinite vertex coordinates")
    if mesh.area <= 0:
        raise FormatError(f"{path}: the mesh has zero surface area")
    return ObjectModel(np.asarray(mesh.vertices, float), np.asarray(mesh.faces), None, mesh, str(path))


def _texture_lookup(image, uv: np.ndarray) -> np.ndarray:
    arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
    h, w = arr.shape[:2]
    u = np.mod(uv[:, 0], 1.0)
    v = np.mod(uv[:, 1], 1.0)
    x = np.clip((u * w).astype(np.int64), 0, w - 1)
    y = np.clip(((1.0 - v) * h).astype(np.int64), 0, h - 1)
    return arr[y, x]


def _sample_colors(mesh, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(S, 3) uint8 colours of surface samples from the mesh's vertex colours, face colours or texture."""
    visual = mesh.visual
    faces = np.asarray(mesh.faces)[face_index]
    kind = getattr(visual, "kind", None)
    if kind == "texture":
        uv = getattr(visual, "uv", None)
        material = getattr(visual, "material", None)
        image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
        if uv is not None and image is not None:
            uv_s = np.einsum("sk,skc->sc", bary, np.asarray(uv)[faces])
            return _texture_lookup(image, uv_s)
        color = getattr(material, "main_color", None)
        if color is not None:
            return np.tile(np.asarray(color[:3], np.uint8), (len(face_index), 1))
    if kind == "vertex":
        vc = np.asarray(visual.vertex_colors)[:, :3].astype(np.float64)
        return np.clip(np.einsum("sk,skc->sc", bary, vc[faces]) + 0.5, 0, 255).astype(np.uint8)
    if kind == "face":
        return np.asarray(visual.face_colors)[face_index, :3].astype(np.uint8)
    return np.full((len(face_index), 3), 180, np.uint8)


def sample_count(surface_area: float, pixels_per_unit: float) -> int:
    """Surface samples so that the object shows no holes when one scene unit spans `pixels_per_unit` pixels."""
    n = surface_area * pixels_per_unit**2 * SAMPLES_PER_PIXEL
    return int(np.clip(n, 2_000, MAX_SAMPLES))


def object_points(obj: ObjectModel, scale: float, pixels_per_unit: float, seed: int = 0):
    """(points (P, 3) in object axes, colours (P, 3) uint8, radius) of an object at `scale`.

    Meshes are sampled uniformly by area with a count that follows the on-screen size (`pixels_per_unit` =
    pixels per scene unit at the nearest viewing distance); `radius` is the world-space splat footprint.
    """
    if not obj.is_mesh:
        pts = obj.vertices
        colors = obj.colors if obj.colors is not None else np.full((len(pts), 3), 200, np.uint8)
        return pts, colors, point_spacing(pts) * scale * 0.6
    count = sample_count(float(obj.mesh.area) * scale**2, pixels_per_unit)
    rng = np.random.default_rng(seed)
    pts, face_index, bary = sample_mesh(obj.vertices, obj.faces, count, rng)
    colors = _sample_colors(obj.mesh, face_index, bary)
    radius = 0.7 * math.sqrt(float(obj.mesh.area) * scale**2 / max(len(pts), 1))
    return pts, colors, radius


def sample_mesh(vertices: np.ndarray, faces: np.ndarray, count: int, rng: np.random.Generator):
    """About `count` points spread over a triangle mesh by area: (points (S, 3), face index (S,), barycentric
    (S, 3)).

    Stratified: every face gets floor(expected) samples plus one more with the remaining probability, so
    coverage is even (no clumps or gaps of plain random choice) and the cost is linear in faces + samples.
    """
    tri = vertices[faces]
    areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    expected = areas / areas.sum() * count
    per_face = np.floor(expected).astype(np.int64)
    per_face += rng.random(len(faces)) < (expected - per_face)
    face_index = np.repeat(np.arange(len(faces)), per_face)
    r1 = np.sqrt(rng.random(len(face_index)))
    r2 = rng.random(len(face_index))
    bary = np.stack([1.0 - r1, r1 * (1.0 - r2), r1 * r2], axis=1)
    t = tri[face_index]
    points = np.einsum("sk,skc->sc", bary, t)
    return points, face_index, bary


def point_spacing(points: np.ndarray, sample: int = 2000, seed: int = 0) -> float:
    """Median nearest-neighbour distance of a point set (on a random subsample)."""
    from scipy.spatial import cKDTree

    if len(points) < 2:
        return 1e-3
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(points), size=min(sample, len(points)), replace=False)
    d, _ = cKDTree(points).query(points[idx], k=2)
    spacing = float(np.median(d[:, 1]))
    return spacing if spacing > 0 else 1e-3


# ---------------------------------------------------------------------------------------------------------------
# Scene up direction


def estimate_up(
    points: np.ndarray, image_rows: np.ndarray | None = None, height: int | None = None, seed: int = 0
):
    """(up (3,), found_ground) of a scene given its points in the source camera frame.

    RANSAC a plane through the points seen in the lower 40 % of the image; it is the ground when it holds at
    least 25 % of them and its normal is within 45 degrees of the camera's up (-y). Otherwise up = -y.
    """
    camera_up = np.array([0.0, -1.0, 0.0])
    pts = points
    if image_rows is not None and height:
        pts = points[image_rows > 0.6 * height]
    if len(pts) < 50:
        return camera_up, False
    rng = np.random.default_rng(seed)
    if len(pts) > 20000:
        pts = pts[rng.choice(len(pts), 20000, replace=False)]
    scale = float(np.median(np.linalg.norm(pts, axis=1)))
    tol = 0.01 * scale
    best_count, best_normal = 0, None
    for _ in range(200):
        a, b, c = pts[rng.choice(len(pts), 3, replace=False)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-12:
            continue
        n /= norm
        count = int((np.abs((pts - a) @ n) < tol).sum())
        if count > best_count:
            best_count, best_normal = count, n
    if best_normal is None or best_count < 0.25 * len(pts):
        return camera_up, False
    if best_normal @ camera_up < 0:
        best_normal = -best_normal
    if best_normal @ camera_up < math.cos(math.radians(45)):
        return camera_up, False
    return best_normal, True


# ---------------------------------------------------------------------------------------------------------------
# Placement


def object_axes(up_axis: str = "y") -> np.ndarray:
    """(3, 3) rotation from an object file's axes to canonical object axes (x right, y up, z front)."""
    from scipy.spatial.transform import Rotation

    if up_axis == "y":
        return np.eye(3)
    if up_axis == "z":
        # Z-up, -Y front (Blender/STL habit) -> Y-up, Z front.
        return Rotation.from_euler("x", -90, degrees=True).as_matrix()
    raise InputError(f"--object-up {up_axis!r}: choose y or z")


def world_from_canonical(up: np.ndarray) -> np.ndarray:
    """(3, 3) rotation taking canonical object axes (y up, z front) to the world, with y to `up` and the front
    turned toward the source camera (world -z) as far as `up` allows."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    toward_camera = np.array([0.0, 0.0, -1.0])
    front = toward_camera - (toward_camera @ up) * up
    if np.linalg.norm(front) < 1e-6:
        front = np.array([1.0, 0.0, 0.0]) - up[0] * up
    front /= np.linalg.norm(front)
    right = np.cross(up, front)
    return np.stack([right, up, front], axis=1)


@dataclass
class Placement:
    """Where and how an object sits in the scene (recorded in objects.json, editable and re-appliable)."""

    at: tuple[float, float, float]
    """Anchor point in world coordinates (scene units)."""
    anchor: str = "bottom"
    """"bottom": the object's lowest point along up touches `at`; "center": its box centre is at `at`."""
    height: float | None = None
    """Object height along up in scene units (overrides scale)."""
    scale: float = 1.0
    """Uniform scale when `height` is not given."""
    yaw: float = 0.0
    """Degrees about the up axis."""
    pitch: float = 0.0
    """Degrees about the object's right axis."""
    roll: float = 0.0
    """Degrees about the object's front axis."""
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)
    """World up the object stands along."""
    up_axis: str = "y"
    """The object file's up axis: "y" or "z"."""


def placement_transform(vertices: np.ndarray, placement: Placement) -> tuple[np.ndarray, float]:
    """(world_from_object (4, 4), scale) for an object with the given vertices (object-file axes)."""
    from scipy.spatial.transform import Rotation

    if placement.anchor not in ("bottom", "center"):
        raise InputError(f"--anchor {placement.anchor!r}: choose bottom or center")
    canon = object_axes(placement.up_axis)
    v = vertices @ canon.T
    lo, hi = v.min(axis=0), v.max(axis=0)
    extent = hi - lo
    if placement.height is not None:
        if not placement.height > 0:
            raise InputError(f"--height {placement.height}: the object height must be positive")
        if extent[1] <= 0:
            raise InputError("the object is flat along its up axis; give --scale instead of --height")
        scale = placement.height / extent[1]
    else:
        scale = placement.scale
    if not (scale > 0 and math.isfinite(scale)):
        raise InputError(f"--scale {placement.scale}: the scale must be a positive number")
    user = Rotation.from_euler(
        "YXZ", [placement.yaw, placement.pitch, placement.roll], degrees=True
    ).as_matrix()
    rot = world_from_canonical(np.asarray(placement.up)) @ user @ canon
    # Anchor point in object-file axes.
    center = (lo + hi) / 2.0
    local_anchor = np.array([center[0], lo[1], center[2]]) if placement.anchor == "bottom" else center
    local_anchor = canon.T @ local_anchor
    m = np.eye(4)
    m[:3, :3] = rot * scale
    m[:3, 3] = np.asarray(placement.at, float) - (rot * scale) @ local_anchor
    return m, float(scale)


def surface_clearance(
    points_cam: np.ndarray, anchor_cam: np.ndarray, depth: np.ndarray, intrinsics, same_surface: float = 0.15
) -> float:
    """How far (scene units, along the viewing ray) to pull an object toward the camera so that it does not sink
    into the surface it stands on.

    `points_cam` (P, 3) are the object's points and `anchor_cam` (3,) its anchor in the source camera frame;
    `depth` (h, w) is the cache's z-depth. Only pixels whose depth is within `same_surface` (relative) of the
    anchor's count as the supporting surface, so objects the user placed behind another thing stay behind it.
    """
    z = points_cam[:, 2]
    ok = z > 1e-6
    uv, _ = project_points(points_cam[ok], intrinsics)
    u, v = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
    h, w = depth.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    if not inside.any():
        return 0.0
    zc = depth[v[inside], u[inside]]
    zo = z[ok][inside]
    surface = (zc > 0) & (np.abs(zc - anchor_cam[2]) < same_surface * anchor_cam[2])
    if not surface.any():
        return 0.0
    sink = zo[surface] - zc[surface]
    return float(max(0.0, sink.max()))


def encloses(world_from_object: np.ndarray, vertices: np.ndarray, centers: np.ndarray, margin: float = 0.02):
    """Indices of camera centres (C, 3) inside the object's box (object axes, grown by `margin` of its size)."""
    lin = world_from_object[:3, :3]
    local = (centers - world_from_object[:3, 3]) @ np.linalg.inv(lin).T
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    pad = margin * (hi - lo).max()
    inside = np.all((local >= lo - pad) & (local <= hi + pad), axis=1)
    return np.nonzero(inside)[0]


# ---------------------------------------------------------------------------------------------------------------
# Placing an object in a scene cache (arrays in, arrays out; the insert-object stage reads and writes the files)


def surface_point(
    depth: np.ndarray,
    intrinsics,
    world_from_camera: np.ndarray,
    source_size: tuple[int, int],
    u: float,
    v: float,
) -> np.ndarray:
    """(3,) world point seen at pixel (u, v) of the user's source image (`source_size` = its (width, height)),
    through the (h, w) cache depth of the source camera."""
    from shotsmith.geometry import pixel_ray

    sw, sh = source_size
    if not (0 <= u < sw and 0 <= v < sh):
        raise InputError(
            f"--at-pixel {u:g},{v:g}: outside the {sw}x{sh} source image; give a pixel inside it"
        )
    h, w = depth.shape
    i, j = min(int(v * h / sh), h - 1), min(int(u * w / sw), w - 1)
    z = float(depth[i, j])
    if not z > 0:
        raise InputError(
            f"--at-pixel {u:g},{v:g}: the cache has no depth there (sky, edge or invalid); choose another pixel or --at"
        )
    cam = pixel_ray(j, i, intrinsics) * z
    return world_from_camera[:3, :3] @ cam + world_from_camera[:3, 3]


def scene_up(depth: np.ndarray, intrinsics, world_from_camera: np.ndarray) -> tuple[np.ndarray, bool]:
    """(up direction in the world, whether a ground plane was found) of a cache (`estimate_up` on its points)."""
    from shotsmith.geometry import unproject_depth

    h, _ = depth.shape
    ys, xs = np.nonzero(depth > 0)
    step = max(1, len(ys) // 50000)
    ys, xs = ys[::step], xs[::step]
    pts = unproject_depth(depth, intrinsics)[ys, xs].astype(np.float64)
    up, found = estimate_up(pts, ys, h)
    return world_from_camera[:3, :3] @ up, found


def default_height(at: np.ndarray, world_from_camera: np.ndarray, fy: float, image_height: int) -> float:
    """An object height in scene units: a quarter of the image height at the anchor's depth."""
    z = float((np.linalg.inv(world_from_camera) @ np.append(at, 1.0))[2])
    return 0.25 * image_height * max(z, 1e-3) / float(fy)


def in_front_of_surface(
    obj: ObjectModel, placement: Placement, depth: np.ndarray, intrinsics, world_from_camera: np.ndarray
) -> tuple[np.ndarray, float]:
    """(anchor moved toward the source camera, the distance moved) so that an object standing on the surface
    seen at a pixel stays in front of it (on a wall it would otherwise sink half into it; on a floor seen
    obliquely nothing moves)."""
    from shotsmith.geometry import transform_points

    at = np.asarray(placement.at, float)
    m, _ = placement_transform(obj.vertices, placement)
    to_cam = np.linalg.inv(world_from_camera)
    clearance = surface_clearance(
        transform_points(to_cam, transform_points(m, obj.vertices)),
        transform_points(to_cam, at[None])[0],
        depth,
        intrinsics,
    )
    ray = at - world_from_camera[:3, 3]
    return at - ray / np.linalg.norm(ray) * clearance, clearance


def placed_points(obj: ObjectModel, placement: Placement, centers: np.ndarray, focal: float, seed: int = 0):
    """(world points (P, 3), colours, footprint radius, world_from_object (4, 4), scale) of an object placed
    for cameras at `centers` (N, 3) with focal length up to `focal` pixels; sampled densely enough for the
    nearest camera. InputError when the object would enclose a camera."""
    from shotsmith.geometry import transform_points

    world_from_object, scale = placement_transform(obj.vertices, placement)
    inside = encloses(world_from_object, obj.vertices, centers)
    if len(inside):
        raise InputError(
            f"the object at {list(np.round(placement.at, 3))} would enclose the camera (camera {int(inside[0])}); "
            "make it smaller (--height/--scale) or place it farther (--at/--at-pixel)"
        )
    center_world = transform_points(world_from_object, obj.vertices.mean(axis=0, keepdims=True))[0]
    nearest = max(float(np.min(np.linalg.norm(centers - center_world, axis=1))), 0.05)
    pts, colors, radius = object_points(obj, scale, focal / nearest, seed=seed)
    # object_points samples in object-file axes scaled by 1: apply the full transform (which carries the scale).
    return transform_points(world_from_object, pts), colors, radius, world_from_object, scale
