"""Camera rigs: several cameras filming one moment of one scene (SynCamMaster's job). Pure domain code.

A rig spec names a rig of `presets/rigs/*.toml` with optional parameters, or a file:

- `hemi36:dist=4,elev=15`: SynCamMaster's Hemi36 (REFERENCE 6.1), 36 cameras every 10 degrees around a centre;
- `syncam-val`: SynCamMaster's 10-camera validation rig (REFERENCE 6.2);
- `ring:n=8,radius=1,elev=10`, `arc:n=5,span=60`, `line:n=4,spacing=0.2`: parametric rigs in scene units;
- `my_rig.toml` (the same data format), or a camera file of any format `shotsmith convert` reads
  (SynCamMaster / ReCamMaster `camera_extrinsics.json`...), optionally `FILE:ref=cam03,ref_dist=3`.

This module turns a spec into a `Rig` in OUR scene (docs/CONVENTIONS.md: OpenCV axes, world = source camera,
1.0 = subject distance, the subject at (0, 0, 1)), validates it (no cameras, duplicate names, a camera inside
the subject or behind the cache's surface: one-line errors), and gives every camera its path over the shot
(`rig_paths`: the planned move applied to each camera in its own frame). docs/RIGS.md has the why.

Scene conversion of metric rigs (data files in metres, files): the rig's reference camera becomes the source
camera, the rig's centre (the point every camera looks at; for files, the point nearest to all optical axes)
becomes the subject at (0, 0, 1), and `ref_dist` metres (default: the reference camera's distance to the
centre) become 1.0, i.e. scene = R_ref^T (x - centre) / ref_dist + (0, 0, 1).
Parametric rigs are written in scene units directly; the source camera is their azimuth 0, elevation 0,
distance 1. Nothing here reads workspaces or renders; `shotsmith.stages.rig` does.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid, look_at, make_pose, relative_to_first, resample
from shotsmith.errors import CameraError, InputError, PresetError
from shotsmith.presets import read_toml

#: Sub-folder of the presets folder holding the rig data files.
RIGS_SUBDIR = "rigs"
#: The subject (the rig's centre) in scene coordinates: 1.0 straight ahead of the source camera.
SUBJECT = (0.0, 0.0, 1.0)
#: A camera nearer than this to the subject centre (scene units) is inside the subject.
MIN_SUBJECT_DISTANCE = 0.1
#: A camera between (1 - FRONT_MARGIN) and (1 + SURFACE_THICKNESS) times the cache depth along its source ray is
#: inside the scene's surface (the cache holds the front surface only; 20 % is the thickness assumed behind it).
SURFACE_THICKNESS = 0.2
FRONT_MARGIN = 0.02
#: Unreal axes (X forward, Y right, Z up) -> OpenCV-like axes (x right, y down, z forward), as formats.ue.
OPENCV_FROM_UE_AXES = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
#: Options every metric rig (metres data files, camera files) accepts besides its own parameters.
METRIC_OPTIONS = {
    "ref": "name of the camera that becomes the source camera (default: the rig's reference, else the first)",
    "ref_dist": "metres (file units) that become the subject distance 1.0 (default: the reference's distance)",
}
FILE_OPTIONS = {**METRIC_OPTIONS, "ue_scale": "Unreal files: centimetres per metre unit (default 100)"}
LAYOUTS = ("cameras", "ring", "arc", "line")


# ---------------------------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class RigParam:
    """One parameter of a rig data file (`[params.NAME]`)."""

    name: str
    default: float | int | str
    """Value when the spec does not give one."""
    help: str = ""
    """What it means, with its unit."""
    min: float | None = None
    """Smallest allowed value (inclusive), numbers only."""
    max: float | None = None
    """Largest allowed value (inclusive), numbers only."""
    integer: bool = False
    """Whole numbers only."""
    choices: tuple[str, ...] = ()
    """Allowed words for a text parameter (empty: a number)."""


@dataclass
class RigCamera:
    """One camera of a rig, placed in the scene."""

    name: str
    """Unique name (cam01, C_01_18mm...)."""
    world_from_camera: np.ndarray
    """(4, 4) float64 placement at the first frame, OpenCV axes, scene units."""
    motion: np.ndarray | None = None
    """(K, 4, 4) the camera's own move relative to its first frame (a file's moving camera), or None."""
    motion_spec: str | None = None
    """A preset spec (`shotsmith presets`) for this camera's own move, from a rig data file, or None."""


@dataclass
class Rig:
    """A rig in the scene: cameras around the subject at (0, 0, 1)."""

    spec: str
    """The spec it was built from."""
    name: str
    """Rig name (hemi36, ring...) or the file's name."""
    description: str
    """One line."""
    cameras: list[RigCamera]
    """In the rig's order (output/cams/01.mp4 is the first)."""
    params: dict = field(default_factory=dict)
    """Parameter values used (defaults filled in)."""
    metres_per_unit: float | None = None
    """Metres per scene unit for metric rigs (the reference distance), None for scene-unit rigs."""
    subject: np.ndarray = field(default_factory=lambda: np.array(SUBJECT))
    """(3,) the rig's centre in the scene."""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    @property
    def poses(self) -> np.ndarray:
        """(M, 4, 4) first-frame placements."""
        return np.stack([c.world_from_camera for c in self.cameras])

    def __len__(self) -> int:
        return len(self.cameras)


@dataclass(frozen=True)
class RigInfo:
    """One entry of `shotsmith rigs`."""

    name: str
    cameras: int
    """Camera count with the default parameters."""
    description: str
    params: str
    """"dist=4 elev=15" (defaults), "" when none."""
    units: str
    """metres or scene."""


# ---------------------------------------------------------------------------------------------------------------
# Data files


def rigs_dir() -> Path:
    """presets/rigs (under $SHOTSMITH_PRESETS_DIR when set)."""
    from shotsmith.presets import presets_dir

    return presets_dir() / RIGS_SUBDIR


def _load_toml(path: Path) -> dict:
    return read_toml(path, "the rig file")


@lru_cache(maxsize=4)
def _rig_files(directory: str) -> dict[str, Path]:
    folder = Path(directory)
    if not folder.is_dir():
        raise PresetError(f"{folder}: no rig data folder; run from a shotsmith checkout (presets/rigs/)")
    return {p.stem.lower(): p for p in sorted(folder.glob("*.toml"))}


def rig_names() -> list[str]:
    """Names of the rigs in presets/rigs/."""
    return list(_rig_files(str(rigs_dir())))


def _params(raw: dict, where: str) -> dict[str, RigParam]:
    out = {}
    for name, p in raw.get("params", {}).items():
        if not isinstance(p, dict) or "default" not in p:
            raise PresetError(f"{where}: [params.{name}] needs a `default`")
        out[name] = RigParam(
            name=name,
            default=p["default"],
            help=str(p.get("help", "")),
            min=p.get("min"),
            max=p.get("max"),
            integer=bool(p.get("integer", False)),
            choices=tuple(p.get("choices", ())),
        )
    return out


# ---------------------------------------------------------------------------------------------------------------
# Spec parsing


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """("name or file", {key: raw value}) of "NAME:k=v,k=v" or "FILE[:k=v,...]".

    >>> split_spec("hemi36:dist=4,elev=15")
    ('hemi36', {'dist': '4', 'elev': '15'})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise PresetError(f"empty rig {spec!r}; give a name such as ring:n=4 (`shotsmith rigs` lists them)")
    spec = spec.strip()
    if Path(spec).exists():
        return spec, {}
    head, sep, tail = spec.rpartition(":")
    if not sep:
        head, tail = spec, ""
    options: dict[str, str] = {}
    for item in filter(None, (t.strip() for t in tail.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not eq or not key or not value.strip():
            raise PresetError(
                f"rig {spec!r}: {item!r} is not KEY=VALUE; write e.g. ring:n=8,radius=1,elev=10"
            )
        if key in options:
            raise PresetError(f"rig {spec!r}: {key!r} given twice")
        options[key] = value.strip()
    return head.strip(), options


def _number(spec: str, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PresetError(f"rig {spec!r}: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise PresetError(f"rig {spec!r}: {key} must be finite, got {text}")
    return value


def resolve_params(
    spec: str, params: dict[str, RigParam], given: dict[str, str], extra: dict[str, str]
) -> dict:
    """Parameter values: defaults overridden by `given` (raw text), checked against each `RigParam`.
    `extra` names further accepted options (kept as text)."""
    unknown = set(given) - set(params) - set(extra)
    if unknown:
        known = [*params, *extra]
        raise PresetError(
            f"rig {spec!r}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"this rig takes {', '.join(known) if known else 'none'}"
        )
    out: dict = {}
    for name, p in params.items():
        text = given.get(name)
        if p.choices:
            value = str(p.default if text is None else text).lower()
            if value not in p.choices:
                raise PresetError(f"rig {spec!r}: {name}={value!r}; choose one of {', '.join(p.choices)}")
            out[name] = value
            continue
        value = float(p.default) if text is None else _number(spec, name, text)
        if p.integer:
            if value != int(value):
                raise PresetError(f"rig {spec!r}: {name} must be a whole number, got {text}")
            value = int(value)
        if p.min is not None and value < p.min:
            raise PresetError(f"rig {spec!r}: {name}={value:g} is below {p.min:g} ({p.help})")
        if p.max is not None and value > p.max:
            raise PresetError(f"rig {spec!r}: {name}={value:g} is above {p.max:g} ({p.help})")
        out[name] = value
    for name in extra:
        if name in given:
            out[name] = given[name]
    return out


def _unknown_rig(name: str) -> PresetError:
    names = rig_names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return PresetError(
        f"unknown rig {name!r}; {hint}choose one of {', '.join(names)} (`shotsmith rigs`) or give a rig file"
    )


# ---------------------------------------------------------------------------------------------------------------
# Geometry helpers


def ue_orbit_position(azimuth_deg: float, elevation_deg: float, distance=None, ground=None) -> np.ndarray:
    """(3,) Hemi36 placement in Unreal axes: D (cos E cos A, cos E sin A, sin E), or with the horizontal
    distance G instead: (G cos A, G sin A, G tan E)."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    if ground is not None:
        g = float(ground)
        return np.array([g * math.cos(a), g * math.sin(a), g * math.tan(e)])
    d = float(distance)
    return d * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


def opencv_from_ue_point(p_ue: np.ndarray) -> np.ndarray:
    """(..., 3) Unreal-axes points in OpenCV-like axes (x = UE Y, y = -UE Z, z = UE X)."""
    return np.asarray(p_ue, dtype=np.float64) @ OPENCV_FROM_UE_AXES.T


def scene_orbit_position(azimuth_deg: float, elevation_deg: float, distance: float) -> np.ndarray:
    """(3,) a point at `distance` from the subject (0, 0, 1), azimuth > 0 to the right, elevation > 0 up, seen from
    the source camera's side (azimuth 0, elevation 0, distance 1 is the source camera, the origin)."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = np.array([math.sin(a) * math.cos(e), -math.sin(e), -math.cos(a) * math.cos(e)])
    return np.array(SUBJECT) + distance * offset


def look_at_point(eye: np.ndarray, target: np.ndarray, name: str, spec: str) -> np.ndarray:
    """`camera.look_at` with world up = -y, as a PresetError naming the camera when it is degenerate."""
    try:
        return look_at(eye, target)
    except CameraError as exc:
        raise PresetError(f"rig {spec!r}: camera {name}: {exc}; change its placement") from exc


def nearest_point_to_axes(world_from_camera: np.ndarray) -> np.ndarray | None:
    """(3,) least-squares point nearest to the optical axes of (M, 4, 4) cameras, or None when the axes are
    (nearly) parallel or the point is not in front of the first camera."""
    origins = world_from_camera[:, :3, 3]
    dirs = world_from_camera[:, :3, 2]
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for o, d in zip(origins, dirs, strict=True):
        proj = np.eye(3) - np.outer(d, d)
        a += proj
        b += proj @ o
    if len(origins) < 2 or np.linalg.eigvalsh(a / len(origins))[0] < 1e-3:
        return None
    point = np.linalg.solve(a, b)
    if (point - origins[0]) @ dirs[0] <= 1e-6:
        return None
    return point


def to_scene(
    native: dict[str, np.ndarray], ref: str, centre: np.ndarray, ref_dist: float | None, spec: str
) -> tuple[dict[str, np.ndarray], float]:
    """Map (4, 4) or (T, 4, 4) poses of a rig's own world into the scene (module docstring): the reference camera's
    orientation becomes the identity, `centre` -> (0, 0, 1), `ref_dist` -> 1.0. Returns (poses, ref_dist used)."""
    ref_pose = native[ref][0] if native[ref].ndim == 3 else native[ref]
    dist = float(np.linalg.norm(ref_pose[:3, 3] - centre)) if ref_dist is None else float(ref_dist)
    if not dist > 1e-9:
        raise PresetError(
            f"rig {spec!r}: reference camera {ref} is at the rig's centre; choose another with ref="
        )
    r_ref = ref_pose[:3, :3]
    out = {}
    for name, m in native.items():
        s = np.array(m, dtype=np.float64, copy=True)
        s[..., :3, :3] = r_ref.T @ m[..., :3, :3]
        s[..., :3, 3] = (m[..., :3, 3] - centre) @ r_ref / dist + np.array(SUBJECT)
        out[name] = s
    return out, dist


# ---------------------------------------------------------------------------------------------------------------
# Building rigs


def _value(raw, params: dict, where: str):
    """A camera field: a number, or the name of a parameter."""
    if isinstance(raw, str):
        if raw not in params:
            raise PresetError(f"{where}: {raw!r} names no parameter; known: {', '.join(params) or 'none'}")
        return params[raw]
    return raw


def _data_cameras(raw: dict, params: dict, where: str) -> list[dict]:
    """Camera entries of a `layout = "cameras"` data file: `[[camera]]` tables plus expanded `[[group]]`s."""
    cams = []
    for group in raw.get("group", []):
        count = int(_value(group.get("count", 0), params, where))
        start = float(_value(group.get("azimuth", 0.0), params, where))
        step = float(_value(group.get("azimuth_step", 0.0), params, where))
        pattern = str(group.get("name", "cam{k:02d}"))
        for k in range(1, count + 1):
            entry = {key: v for key, v in group.items() if key not in ("count", "azimuth_step", "name")}
            entry["azimuth"] = start + step * (k - 1)
            try:
                entry["name"] = pattern.format(k=k)
            except (KeyError, IndexError, ValueError) as exc:
                raise PresetError(f"{where}: group name {pattern!r} is not a pattern of k ({exc})") from exc
            cams.append(entry)
    cams.extend(raw.get("camera", []))
    return cams


def _check_names(names: list[str], spec: str) -> None:
    if not names:
        raise PresetError(f"rig {spec!r} has no cameras; give at least one (e.g. n=1, or a [[camera]] table)")
    seen: set[str] = set()
    for name in names:
        if not name:
            raise PresetError(f"rig {spec!r}: a camera has an empty name")
        if name in seen:
            raise PresetError(
                f"rig {spec!r}: duplicate camera name {name!r}; every camera needs its own name"
            )
        seen.add(name)


def native_poses(raw: dict, params: dict, spec: str, where: str) -> dict[str, np.ndarray]:
    """name -> (4, 4) world_from_camera of a metric data rig in its own world: OpenCV-like axes of the Unreal
    placement (x = UE Y, y = -UE Z, z = UE X), metres, the centre at the origin, each camera looking at it."""
    entries = _data_cameras(raw, params, where)
    _check_names([str(e.get("name", "")) for e in entries], spec)
    out = {}
    for e in entries:
        name = str(e["name"])
        here = f"{where} camera {name}"
        az = float(_value(e.get("azimuth", 0.0), params, here))
        el = float(_value(e.get("elevation", 0.0), params, here))
        if ("distance" in e) == ("ground" in e):
            raise PresetError(f"{here}: give exactly one of `distance` or `ground`")
        if "distance" in e:
            p_ue = ue_orbit_position(az, el, distance=float(_value(e["distance"], params, here)))
        else:
            p_ue = ue_orbit_position(az, el, ground=float(_value(e["ground"], params, here)))
        out[name] = look_at_point(opencv_from_ue_point(p_ue), np.zeros(3), name, spec)
    return out


def _parametric(layout: str, p: dict, spec: str) -> dict[str, np.ndarray]:
    """name -> (4, 4) scene poses of the parametric layouts (formulas in presets/rigs/{ring,arc,line}.toml)."""
    subject = np.array(SUBJECT)
    n = int(p["n"])
    if n < 1:
        raise PresetError(f"rig {spec!r} has no cameras (n={n}); use n=1 or more")
    names = [f"cam{k + 1:02d}" for k in range(n)]
    poses: list[np.ndarray] = []
    if layout == "ring":
        axis_cam = look_at_point(scene_orbit_position(p["az"], p["elev"], p["dist"]), subject, "axis", spec)
        right, up = axis_cam[:3, 0], -axis_cam[:3, 1]
        for k in range(n):
            phi = 2.0 * math.pi * k / n
            eye = axis_cam[:3, 3] + p["radius"] * (math.cos(phi) * right + math.sin(phi) * up)
            poses.append(look_at_point(eye, subject, names[k], spec))
    elif layout == "arc":
        span = float(p["span"])
        if span >= 360.0:
            azimuths = [p["az"] + 360.0 * k / n for k in range(n)]
        else:
            azimuths = [p["az"] + (span * (k / (n - 1) - 0.5) if n > 1 else 0.0) for k in range(n)]
        for k, a in enumerate(azimuths):
            poses.append(
                look_at_point(scene_orbit_position(a, p["elev"], p["dist"]), subject, names[k], spec)
            )
    elif layout == "line":
        axis = np.array([1.0, 0.0, 0.0]) if p["axis"] == "x" else np.array([0.0, 1.0, 0.0])
        for k in range(n):
            eye = axis * p["spacing"] * (k - (n - 1) / 2.0)
            if p["aim"] == "subject":
                poses.append(look_at_point(eye, subject, names[k], spec))
            else:
                poses.append(make_pose(np.eye(3), eye))
    else:  # pragma: no cover - checked by the caller
        raise PresetError(f"rig {spec!r}: unknown layout {layout!r}")
    return dict(zip(names, poses, strict=True))


def _from_data(spec: str, name: str, raw: dict, given: dict[str, str], where: str) -> Rig:
    info = raw.get("rig", {})
    layout = str(info.get("layout", "cameras"))
    if layout not in LAYOUTS:
        raise PresetError(f"{where}: unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    units = str(info.get("units", "metres"))
    if units not in ("metres", "scene"):
        raise PresetError(f"{where}: units must be 'metres' or 'scene', got {units!r}")
    extra = METRIC_OPTIONS if units == "metres" else {}
    params = resolve_params(spec, _params(raw, where), given, extra)
    description = str(info.get("description", ""))
    motions: dict[str, str] = {}
    if layout != "cameras":
        poses = _parametric(layout, params, spec)
        return Rig(spec, name, description, [RigCamera(n, m) for n, m in poses.items()], params)
    for e in _data_cameras(raw, params, where):
        if "motion" in e:
            motions[str(e["name"])] = str(e["motion"])
    native = native_poses(raw, params, spec, where)
    metres = None
    if units == "scene":
        # written in scene units around the origin: the centre moves to the subject (A = 180, D = 1 is the source)
        scene = {n: _shift(m, np.array(SUBJECT)) for n, m in native.items()}
    else:
        ref = _pick_ref(spec, list(native), params.get("ref", info.get("reference")))
        ref_dist = _number(spec, "ref_dist", params["ref_dist"]) if "ref_dist" in params else None
        if ref_dist is not None and not ref_dist > 0:
            raise PresetError(f"rig {spec!r}: ref_dist must be positive, got {ref_dist:g}")
        scene, metres = to_scene(native, ref, np.zeros(3), ref_dist, spec)
    cameras = [RigCamera(n, m, motion_spec=motions.get(n)) for n, m in scene.items()]
    for cam in cameras:
        if cam.motion_spec:
            _check_motion(spec, cam)
    return Rig(spec, name, description, cameras, params, metres)


def _shift(m: np.ndarray, by: np.ndarray) -> np.ndarray:
    out = m.copy()
    out[:3, 3] += by
    return out


def _check_motion(spec: str, cam: RigCamera) -> None:
    from shotsmith.presets import path_from_spec

    try:
        path_from_spec(cam.motion_spec, frames=2)
    except PresetError as exc:
        raise PresetError(f"rig {spec!r}: camera {cam.name}: motion {cam.motion_spec!r}: {exc}") from exc


def _pick_ref(spec: str, names: list[str], ref: str | None) -> str:
    if ref is None:
        return names[0]
    if ref in names:
        return ref
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.4)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise PresetError(
        f"rig {spec!r}: ref={ref!r} is not one of its cameras{hint}; cameras: {', '.join(names)}"
    )


def _json_duplicates(path: Path) -> None:
    """Raise InputError naming a camera name that a JSON object repeats (json.load would keep the last)."""

    def hook(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise InputError(f"{path}: duplicate camera name {key!r}; every camera needs its own name")
            seen.add(key)
        return dict(pairs)

    try:
        json.loads(path.read_text(), object_pairs_hook=hook)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # not JSON: the format reader reports it


def _from_file(spec: str, path: Path, given: dict[str, str]) -> Rig:
    from shotsmith.formats import read_camera_rig

    if path.suffix.lower() == ".toml":
        return _from_data(spec, path.stem, _load_toml(path), given, str(path))
    opts = resolve_params(spec, {}, given, FILE_OPTIONS)
    ue_scale = _number(spec, "ue_scale", opts["ue_scale"]) if "ue_scale" in opts else 100.0
    if path.suffix.lower() == ".json":
        _json_duplicates(path)
    rig = read_camera_rig(path, ue_scale=ue_scale)
    if not rig:
        raise InputError(f"{path}: the file holds no cameras; give a rig with at least one camera")
    _check_names(list(rig), spec)
    names = list(rig)
    ref = _pick_ref(spec, names, opts.get("ref"))
    first = np.stack([cam.world_from_camera[0] for cam in rig.values()])
    ref_dist = _number(spec, "ref_dist", opts["ref_dist"]) if "ref_dist" in opts else None
    centre = nearest_point_to_axes(first)
    if (
        centre is None
    ):  # parallel or coincident axes: the subject is ref_dist (default 1) ahead of the reference
        ahead = 1.0 if ref_dist is None else ref_dist
        ref_pose = rig[ref].world_from_camera[0]
        centre = ref_pose[:3, 3] + ahead * ref_pose[:3, 2]
        ref_dist = ahead
    native = {n: cam.world_from_camera for n, cam in rig.items()}
    scene, metres = to_scene(native, ref, centre, ref_dist, spec)
    cameras = []
    for n, m in scene.items():
        own = invert_rigid(m[0]) @ m  # the camera's own move relative to its first frame (scene units)
        moving = len(m) > 1 and not np.allclose(own, np.eye(4), atol=1e-9)
        cameras.append(RigCamera(n, m[0], motion=own if moving else None))
    first_cam = next(iter(rig.values()))
    desc = f"{len(rig)} cameras from {path.name} ({first_cam.meta.get('format', 'file')})"
    return Rig(spec, path.name, desc, cameras, {k: v for k, v in opts.items()}, metres)


def load_rig(spec: str, *, min_distance: float = MIN_SUBJECT_DISTANCE) -> Rig:
    """The `Rig` of a spec (module docstring), in scene coordinates, checked for zero cameras, duplicate names and
    cameras inside the subject (nearer than `min_distance` to (0, 0, 1)). `check_clear` adds the cache's surface.

    >>> rig = load_rig("ring:n=4,radius=0.3")
    >>> rig.names, [round(float(v), 2) for v in rig.poses[0, :3, 3]]
    (['cam01', 'cam02', 'cam03', 'cam04'], [0.3, 0.0, 0.0])
    """
    target, given = split_spec(spec)
    path = Path(target)
    if path.exists() or path.suffix.lower() in (".json", ".toml", ".txt", ".npz"):
        if not path.exists():
            raise InputError(f"rig file {path}: no such file; check the path (or `shotsmith rigs` for names)")
        if path.is_dir():
            raise InputError(f"rig file {path}: is a folder; give a rig .toml or a camera file")
        rig = _from_file(spec, path, given)
    else:
        name = target.lower().replace("_", "-")
        files = _rig_files(str(rigs_dir()))
        if name not in files:
            raise _unknown_rig(target)
        rig = _from_data(spec, name, _load_toml(files[name]), given, f"presets/rigs/{files[name].name}")
    _check_names(rig.names, spec)
    check_clear(
        rig, {c.name: c.world_from_camera[None, :3, 3] for c in rig.cameras}, min_distance=min_distance
    )
    return rig


def list_rigs() -> list[RigInfo]:
    """Every rig of presets/rigs with its camera count at the default parameters."""
    out = []
    for name, path in _rig_files(str(rigs_dir())).items():
        raw = _load_toml(path)
        params = _params(raw, str(path))
        rig = load_rig(name)
        summary = " ".join(
            f"{p.name}={p.default:g}" if not p.choices else f"{p.name}={p.default}" for p in params.values()
        )
        units = str(raw.get("rig", {}).get("units", "metres"))
        out.append(RigInfo(name, len(rig), rig.description, summary, units))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Validation against the subject and the cache


def check_clear(
    rig: Rig,
    centers: dict[str, np.ndarray],
    *,
    min_distance: float = MIN_SUBJECT_DISTANCE,
    depth: np.ndarray | None = None,
    intrinsics: np.ndarray | None = None,
    source_world_from_camera: np.ndarray | None = None,
    subject: np.ndarray | None = None,
) -> None:
    """Raise InputError for the first camera (and frame) inside the subject (`subject` (3,) world point; default
    the rig's, (0, 0, 1)).

    `centers`: name -> (T, 3) camera centres over the shot. Inside = nearer than `min_distance` to the subject
    centre, or (with the cache's `depth` (h, w) float z-depth, `intrinsics` (4,) and source pose) within the
    cache's surface along the source ray through the camera: between (1 - FRONT_MARGIN) and
    (1 + SURFACE_THICKNESS) times the cache depth there.
    """
    subject = np.asarray(rig.subject if subject is None else subject, dtype=np.float64)
    src_from_world = None if source_world_from_camera is None else invert_rigid(source_world_from_camera)
    for name, c in centers.items():
        c = np.asarray(c, dtype=np.float64).reshape(-1, 3)
        d = np.linalg.norm(c - subject, axis=1)
        if (d < min_distance).any():
            t = int(np.argmax(d < min_distance))
            raise InputError(
                f"rig {rig.spec!r}: camera {name} (frame {t}) is {d[t]:.3f} from the subject centre, inside the "
                f"subject (minimum {min_distance:g} scene units); move it out (larger radius/dist, smaller move)"
            )
        if depth is None or intrinsics is None:
            continue
        p = c if src_from_world is None else c @ src_from_world[:3, :3].T + src_from_world[:3, 3]
        fx, fy, cx, cy = (float(v) for v in intrinsics)
        h, w = depth.shape
        for t, (x, y, z) in enumerate(p):
            if z <= 1e-6:
                continue
            u, v = fx * x / z + cx, fy * y / z + cy
            if not (0 <= u < w and 0 <= v < h):
                continue
            surface = float(depth[int(v), int(u)])
            if surface > 0 and surface * (1 - FRONT_MARGIN) < z < surface * (1 + SURFACE_THICKNESS):
                raise InputError(
                    f"rig {rig.spec!r}: camera {name} (frame {t}) is inside the scene: at depth {z:.3f} behind the "
                    f"cache's surface at depth {surface:.3f} (source pixel {u:.0f},{v:.0f}); move it in front of "
                    "the subject or well behind it"
                )


# ---------------------------------------------------------------------------------------------------------------
# Paths over the shot


def rig_paths(rig: Rig, base: CameraPath) -> dict[str, CameraPath]:
    """name -> the camera's path over the shot: base[0] @ placement @ own move @ the planned move.

    `base` is the planned path (trajectory.json). The rig is placed around its first camera (the identity for
    single-image plans, so the subject is (0, 0, 1)); its motion relative to its first frame is applied to every
    camera in that camera's own frame (`dolly_in` moves each camera toward the subject); its frame count, fps,
    size and intrinsics are every camera's. A rig of one camera at the identity reproduces `base` exactly. A camera's own move (a moving camera in a rig file, resampled to
    the shot's frame count, or a data file's `motion` preset) comes first.
    """
    from shotsmith.presets import path_from_spec

    rel = relative_to_first(base).world_from_camera
    origin = base.world_from_camera[0]
    n = len(base)
    out = {}
    for index, cam in enumerate(rig.cameras, start=1):
        own = np.tile(np.eye(4), (n, 1, 1))
        if cam.motion_spec:
            p = path_from_spec(
                cam.motion_spec,
                frames=n,
                fps=base.fps,
                width=base.width,
                height=base.height,
                intrinsics=base.intrinsics[0],
            )
            own = relative_to_first(p).world_from_camera
        elif cam.motion is not None:
            k = len(cam.motion)
            p = CameraPath(
                cam.motion, np.tile(base.intrinsics[:1], (k, 1)), base.width, base.height, base.fps
            )
            own = resample(p, n).world_from_camera
        mats = origin @ cam.world_from_camera @ own @ rel
        meta = {
            "source": "rig",
            "rig": rig.spec,
            "camera": cam.name,
            "index": index,
            "units": "scene",
            "base": base.meta,
        }
        out[cam.name] = CameraPath(mats, base.intrinsics.copy(), base.width, base.height, base.fps, meta=meta)
    return out


__all__ = [
    "MIN_SUBJECT_DISTANCE",
    "Rig",
    "RigCamera",
    "RigInfo",
    "RigParam",
    "SUBJECT",
    "check_clear",
    "list_rigs",
    "load_rig",
    "native_poses",
    "nearest_point_to_axes",
    "rig_names",
    "rig_paths",
    "rigs_dir",
    "split_spec",
    "to_scene",
]
