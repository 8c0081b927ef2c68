"""Camera presets: the named shots of `presets/*.toml`, their composition, and the compatibility sets.

This module owns the preset vocabulary (`pan_left`, `dolly_in`, `orbit_right`...), read from the data files in
the repository's `presets/` folder (docs/PRESETS.md), and the spec syntax that composes them:

- `"dolly_in+pan_left"`: at the same time (`motion.combine`);
- `"static,dolly_in,pan_left"`: one after the other (plan segments; holds take a shorter share);
- `"pan_left:30"`, `"dolly_in:0.5"`: a per-token amount in the preset's unit;
- `"cami2v:look_left"`: CamI2V's demo presets, as motions;
- `"recammaster:5"`, `"recammaster:zoom_in"`: ReCamMaster's ten basic trajectories, literal paths in metres;
- `"gen3c:left"`, `"gen3c:left:no_rotation:corrected"`: GEN3C's trajectories, literal paths.

Motion-based presets become a `motion.Plan` (`plan_from_spec`) and go through `motion.build_path`, the only place
where motion becomes matrices; the literal compatibility sets build their matrices here. `path_from_spec`
handles both. Signs and units: docs/CONVENTIONS.md. Also here: `parse_size` for every `--size WxH` option.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from shotsmith.camera import EASINGS, CameraPath, default_intrinsics, look_at, make_pose, retime
from shotsmith.errors import InputError, PresetError
from shotsmith.motion import Motion, Plan, Segment, build_path, combine, scale_motion

#: Environment variable naming another presets folder (default: the repository's `presets/`).
PRESETS_DIR_ENV = "SHOTSMITH_PRESETS_DIR"
#: Families of compatibility presets, written `family:name`.
MOTION_FAMILIES: tuple[str, ...] = ("cami2v",)
LITERAL_FAMILIES: tuple[str, ...] = ("recammaster", "gen3c")

_MOTION_FIELDS = {f.name for f in fields(Motion)}


@dataclass(frozen=True)
class PresetInfo:
    """One entry of `shotsmith presets`."""

    name: str
    """The name to pass to --cam / --preset (e.g. "pan_left", "recammaster:5", "gen3c:left")."""
    description: str
    """What the camera does, in one line."""
    amount: float | None
    """Default amount in `unit` (None when the preset takes none, e.g. static)."""
    unit: str
    """Unit of the amount: degrees, scene units, x focal, strength, x file, metres..."""
    ease: str
    """Default speed curve (`camera.EASINGS`)."""
    family: str = "vocabulary"
    """vocabulary, cami2v, recammaster or gen3c."""
    literal: bool = False
    """True for compatibility presets made of literal matrices (no `Plan`)."""


@dataclass(frozen=True)
class _MotionPreset:
    name: str
    description: str
    motion: Motion
    amount: float | None
    unit: str
    ease: str
    weight: float = 1.0
    log_scaling: bool = False
    above: float | None = None
    below: float | None = None

    def info(self, family: str) -> PresetInfo:
        return PresetInfo(self.name, self.description, self.amount, self.unit, self.ease, family)

    def motion_for(self, amount: float | None) -> Motion:
        """The motion at `amount` (None = the default)."""
        if amount is None or self.amount is None:
            if amount is not None:
                raise PresetError(f"preset {self.name!r} takes no amount, got {amount:g}; drop it")
            return self.motion
        if not math.isfinite(amount):
            raise PresetError(f"amount for {self.name!r} must be a finite number, got {amount}")
        if self.above is not None and not amount > self.above:
            raise PresetError(
                f"amount for {self.name!r} must be above {self.above:g} {self.unit}, got {amount:g}"
            )
        if self.below is not None and not amount < self.below:
            raise PresetError(
                f"amount for {self.name!r} must be below {self.below:g} {self.unit} "
                f"(1.0 is the subject distance), got {amount:g}"
            )
        if self.log_scaling:
            factor = math.log(amount) / math.log(self.amount)
        else:
            factor = amount / self.amount
        return scale_motion(self.motion, factor)


# ---------------------------------------------------------------------------------------------------------------
# Data files


def presets_dir() -> Path:
    """The folder of preset data files: $SHOTSMITH_PRESETS_DIR, else the repository's `presets/`."""
    env = os.environ.get(PRESETS_DIR_ENV)
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "presets"
    if not (path / "vocabulary.toml").is_file():
        raise PresetError(
            f"{path}: no preset data (vocabulary.toml) found; run from a shotsmith checkout or set "
            f"{PRESETS_DIR_ENV} to its presets/ folder"
        )
    return path


def read_toml(path: Path, what: str = "preset data") -> dict:
    """A TOML data file's contents; PresetError naming the file and `what` it holds when it cannot be read or
    parsed. Camera presets and rigs (`shotsmith.rigs`) read their files through it."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise PresetError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML ({exc}); fix the file") from exc


def _load_toml(name: str) -> dict:
    return read_toml(presets_dir() / name)


def _motion_preset(name: str, raw: dict, source: str) -> _MotionPreset:
    where = f"{source} [{name}]"
    motion_kw = dict(raw.get("motion", {}))
    unknown = set(motion_kw) - _MOTION_FIELDS
    if unknown:
        raise PresetError(
            f"{where}: unknown motion field(s) {sorted(unknown)}; known: {sorted(_MOTION_FIELDS)}"
        )
    if "move" in motion_kw:
        motion_kw["move"] = tuple(float(v) for v in motion_kw["move"])
    ease = str(raw.get("ease", "linear"))
    if ease not in EASINGS:
        raise PresetError(f"{where}: unknown ease {ease!r}; choose one of {', '.join(EASINGS)}")
    amount = raw.get("amount")
    scaling = raw.get("scaling", "linear")
    if scaling not in ("linear", "log"):
        raise PresetError(f"{where}: scaling must be 'linear' or 'log', got {scaling!r}")
    if amount is not None and (amount == 0 or (scaling == "log" and (amount <= 0 or amount == 1))):
        raise PresetError(
            f"{where}: default amount {amount} cannot be scaled; use a non-zero (log: > 0, != 1) value"
        )
    return _MotionPreset(
        name=name,
        description=str(raw.get("description", "")),
        motion=Motion(**motion_kw, ease=ease),
        amount=None if amount is None else float(amount),
        unit=str(raw.get("unit", "")),
        ease=ease,
        weight=float(raw.get("weight", 1.0)),
        log_scaling=scaling == "log",
        above=raw.get("above"),
        below=raw.get("below"),
    )


@lru_cache(maxsize=4)
def _motion_presets(directory: str) -> dict[str, _MotionPreset]:
    """name -> preset for the vocabulary and the motion-based families (cami2v:...)."""
    out = {
        name: _motion_preset(name, raw, "vocabulary.toml")
        for name, raw in _load_toml("vocabulary.toml").items()
    }
    for family in MOTION_FAMILIES:
        for name, raw in _load_toml(f"{family}.toml").items():
            out[f"{family}:{name}"] = _motion_preset(f"{family}:{name}", raw, f"{family}.toml")
    return out


@lru_cache(maxsize=4)
def _literal_data(directory: str, family: str) -> dict:
    return _load_toml(f"{family}.toml")


def _presets() -> dict[str, _MotionPreset]:
    return _motion_presets(str(presets_dir()))


def _recammaster() -> dict:
    return _literal_data(str(presets_dir()), "recammaster")


def _gen3c() -> dict:
    return _literal_data(str(presets_dir()), "gen3c")


def list_presets(include_compat: bool = True) -> list[PresetInfo]:
    """Every preset name with its description, default amount and unit (vocabulary first)."""
    out = []
    for name, p in _presets().items():
        family = name.split(":", 1)[0] if ":" in name else "vocabulary"
        if family == "vocabulary" or include_compat:
            out.append(p.info(family))
    if include_compat:
        rcm = _recammaster()
        for index, cam in sorted(rcm["cam"].items(), key=lambda kv: int(kv[0])):
            out.append(
                PresetInfo(
                    f"recammaster:{index}",
                    f"ReCamMaster cam{int(index):02d} '{cam['label']}' (= recammaster:{cam['name']}), metres",
                    1.0,
                    "x file",
                    "linear",
                    "recammaster",
                    True,
                )
            )
        g = _gen3c()
        for name, traj in g["trajectory"].items():
            out.append(
                PresetInfo(
                    f"gen3c:{name}",
                    f"{traj['description']} [:{'|'.join(g['rotations'])}][:faithful|:corrected]",
                    float(g["default_distance"]),
                    "scene units (movement_distance)",
                    "linear",
                    "gen3c",
                    True,
                )
            )
    return out


def preset_names(include_compat: bool = True) -> list[str]:
    """All names `list_presets` shows, plus the recammaster:NAME aliases."""
    names = [p.name for p in list_presets(include_compat)]
    if include_compat:
        names += [f"recammaster:{cam['name']}" for cam in _recammaster()["cam"].values()]
    return names


def _unknown(name: str, candidates: list[str] | None = None) -> PresetError:
    candidates = candidates if candidates is not None else preset_names()
    close = difflib.get_close_matches(name, candidates, n=4, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return PresetError(f"unknown camera preset {name!r}; {hint}(`shotsmith presets` lists them all)")


# ---------------------------------------------------------------------------------------------------------------
# Spec parsing


def _normalise(spec: str) -> str:
    if not isinstance(spec, str) or not spec.strip():
        raise PresetError(f"empty camera preset {spec!r}; give a name such as dolly_in (`shotsmith presets`)")
    s = spec.strip().lower()
    s = re.sub(r"\s*([+,:])\s*", r"\1", s)
    s = re.sub(r"(?<=[a-z_])[\s\-]+(?=[a-z_])", "_", s)  # "pan left", "dolly-in" -> pan_left, dolly_in
    return re.sub(r"\s+", "", s)


def _family(spec: str) -> str | None:
    head = spec.split(":", 1)[0]
    return head if ":" in spec and head in LITERAL_FAMILIES + MOTION_FAMILIES else None


def _parse_amount(text: str, token: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PresetError(
            f"{token!r}: amount {text!r} is not a number; write NAME:AMOUNT, e.g. pan_left:30 or dolly_in:0.5"
        ) from None
    if not math.isfinite(value):
        raise PresetError(f"{token!r}: amount must be finite, got {text}")
    return value


def _token(token: str) -> tuple[_MotionPreset, float | None]:
    if not token:
        raise PresetError(
            "empty name in a preset spec (two separators in a row?); e.g. static,dolly_in+pan_left"
        )
    parts = token.split(":")
    if parts[0] in LITERAL_FAMILIES:
        raise PresetError(
            f"{token!r} is a literal compatibility trajectory and cannot be combined or sequenced; use it alone"
        )
    if parts[0] in MOTION_FAMILIES:
        if len(parts) < 2:
            raise _unknown(token)
        name, rest = f"{parts[0]}:{parts[1]}", parts[2:]
    else:
        name, rest = parts[0], parts[1:]
    if len(rest) > 1:
        raise PresetError(f"{token!r}: too many ':' parts; write NAME or NAME:AMOUNT")
    presets = _presets()
    if name not in presets:
        raise _unknown(name)
    return presets[name], (_parse_amount(rest[0], token) if rest else None)


def plan_from_spec(spec: str, amount: float | None = None, ease: str | None = None) -> Plan:
    """The `motion.Plan` of a motion-based preset spec (vocabulary and cami2v names, composed).

    `amount` sets the amount of a single-preset spec in its unit (`shotsmith presets` shows it); with several
    presets give per-token amounts instead ("dolly_in:0.5+pan_left:30"). `ease` overrides every segment's speed
    curve. Raises `PresetError` for unknown names (with the closest ones) and for literal compatibility specs.

    >>> plan = plan_from_spec("static,dolly_in+pan_left:30")
    >>> [s.label for s in plan.segments]
    ['static', 'dolly_in+pan_left:30']
    """
    s = _normalise(spec)
    if _family(s) in LITERAL_FAMILIES:
        raise PresetError(f"{spec!r} is a literal compatibility trajectory, not a plan; use path_from_spec")
    if ease is not None and ease not in EASINGS:
        raise PresetError(f"unknown ease {ease!r}; choose one of {', '.join(EASINGS)}")
    groups = [[_token(t) for t in seg.split("+")] for seg in s.split(",")]
    if amount is not None and sum(len(g) for g in groups) > 1:
        raise PresetError(
            f"--amount {amount:g} is ambiguous for {spec!r} (several presets); "
            "give per-preset amounts instead, e.g. dolly_in:0.5+pan_left:30"
        )
    segments = []
    for seg_text, group in zip(s.split(","), groups, strict=True):
        motions = []
        for preset, token_amount in group:
            m = preset.motion_for(token_amount if token_amount is not None else amount)
            if ease is not None:
                m = replace(m, ease=ease)
            motions.append(m)
        motion = motions[0]
        for m in motions[1:]:
            motion = combine(motion, m)
        # Holds in a sequence take their (shorter) weight; anything moving takes the largest weight of its parts.
        moving = [p.weight for (p, _), m in zip(group, motions, strict=True) if not m.is_static()]
        weight = max(moving) if moving else max(p.weight for p, _ in group)
        segments.append(Segment(motion=motion, weight=weight, label=seg_text))
    return Plan(tuple(segments))


def path_from_spec(
    spec: str,
    *,
    frames: int = 81,
    fps: float = 16.0,
    width: int = 832,
    height: int = 480,
    amount: float | None = None,
    ease: str | None = None,
    intrinsics: np.ndarray | None = None,
) -> CameraPath:
    """The camera path of any preset spec, motion-based or literal; `meta` says where it came from.

    `intrinsics` (4,) or (frames, 4) pixels; default `camera.default_intrinsics(width, height)`.

    >>> cam = path_from_spec("dolly_in", frames=33)
    >>> len(cam), round(float(cam.centers[-1, 2]), 2)
    (33, 0.35)
    """
    if isinstance(frames, bool) or int(frames) != frames or frames < 1:
        raise InputError(f"frame count must be a whole number of at least 1, got {frames}; e.g. --frames 81")
    frames = int(frames)
    if not (math.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be a positive number, got {fps}; e.g. --fps 16")
    if ease is not None and ease not in EASINGS:
        raise PresetError(f"unknown ease {ease!r}; choose one of {', '.join(EASINGS)}")
    s = _normalise(spec)
    intr = (
        default_intrinsics(width, height) if intrinsics is None else np.asarray(intrinsics, dtype=np.float64)
    )
    meta = {"source": "preset", "preset": spec, "units": "scene"}
    if amount is not None:
        meta["amount"] = float(amount)
    if ease is not None:
        meta["ease"] = ease
    family = _family(s)
    if family in LITERAL_FAMILIES:
        parts = s.split(":")[1:]
        factor = 1.0 if amount is None else float(amount)
        if family == "recammaster":
            world_from_camera, units = _recammaster_matrices(parts, frames, factor, spec)
        else:
            world_from_camera, units = _gen3c_matrices(parts, frames, amount, spec), "scene"
        meta["units"] = units
        cam = CameraPath(world_from_camera, intr, width, height, fps, meta=meta)
        return retime(cam, ease) if ease not in (None, "linear") else cam
    plan = plan_from_spec(s, amount=amount, ease=ease)
    return build_path(plan, frames, width, height, fps, intrinsics=intr, meta=meta)


# ---------------------------------------------------------------------------------------------------------------
# ReCamMaster: literal paths in metres


def _recammaster_matrices(parts: list[str], frames: int, factor: float, spec: str) -> tuple[np.ndarray, str]:
    from scipy.spatial.transform import Rotation, Slerp

    data = _recammaster()
    cams = data["cam"]
    by_name = {cam["name"]: key for key, cam in cams.items()}
    names = [f"recammaster:{k}" for k in cams] + [f"recammaster:{n}" for n in by_name]
    scene = False
    if parts and parts[-1] in ("scene", "metres", "meters"):
        scene = parts.pop() == "scene"
    if len(parts) != 1:
        raise _unknown(spec, names)
    key = parts[0].removeprefix("cam").lstrip("0") or parts[0]
    key = by_name.get(key, key)
    if key not in cams:
        raise _unknown(f"recammaster:{parts[0]}", names)
    cam = cams[key]
    mag = float(data["magnitude"]) * factor
    scale = 1.0 / float(data["look_at_distance"]) if scene else 1.0
    s = np.linspace(0.0, 1.0, frames) if frames > 1 else np.ones(1)
    if "look_at" in cam:
        target = np.asarray(cam["look_at"], dtype=np.float64)
        if "arc_deg" in cam:
            a = math.radians(float(cam["arc_deg"]))
            r = float(np.linalg.norm(target))
            end = np.array([r * math.sin(a), 0.0, r * (1.0 - math.cos(a))]) * mag
        else:
            end = np.asarray(cam["position"], dtype=np.float64) * mag
        mats = np.stack([look_at(si * end, target) for si in s])
    else:
        end = np.asarray(cam.get("position", [0.0, 0.0, 0.0]), dtype=np.float64) * mag
        rot_end = Rotation.from_euler(
            "YX", [cam.get("yaw_deg", 0.0) * mag, cam.get("pitch_deg", 0.0) * mag], degrees=True
        )
        rots = Slerp([0.0, 1.0], Rotation.concatenate([Rotation.identity(), rot_end]))(s).as_matrix()
        mats = make_pose(rots, s[:, None] * end)
    mats[:, :3, 3] *= scale
    return mats, "scene" if scene else "metres"


# ---------------------------------------------------------------------------------------------------------------
# GEN3C: literal paths, faithful (the "-pos" translation) or corrected


def gen3c_view_matrix(position: np.ndarray, target: np.ndarray, faithful: bool = True) -> np.ndarray:
    """GEN3C's world-to-camera look-at (4, 4): rows of R = (right, up, forward) with up0 = (0, 1, 0); translation
    -position when `faithful` (GEN3C's quirk), -R @ position otherwise."""
    f = np.asarray(target, dtype=np.float64) - position
    f /= np.linalg.norm(f)
    r = np.cross([0.0, 1.0, 0.0], f)
    r /= np.linalg.norm(r)
    u = np.cross(f, r)
    rot = np.stack([r, u, f])
    return make_pose(rot, -position if faithful else -rot @ position)


def _gen3c_matrices(parts: list[str], frames: int, amount: float | None, spec: str) -> np.ndarray:
    data = _gen3c()
    trajs = data["trajectory"]
    rotations = list(data["rotations"])
    names = [f"gen3c:{t}" for t in trajs] + [f"gen3c:{t}:{r}" for t in trajs for r in rotations]
    if not parts or parts[0] not in trajs:
        raise _unknown(spec, names)
    traj = trajs[parts[0]]
    rotation, faithful = data["default_rotation"], True
    for p in parts[1:]:
        if p in rotations:
            rotation = p
        elif p in ("faithful", "corrected"):
            faithful = p == "faithful"
        else:
            raise PresetError(
                f"{spec!r}: unknown GEN3C option {p!r}; choose a rotation ({', '.join(rotations)}) "
                "and/or faithful|corrected, e.g. gen3c:left:center_facing:corrected"
            )
    d = float(data["default_distance"]) if amount is None else float(amount)
    c = float(data["center_depth"])
    n = frames
    i = np.arange(n, dtype=np.float64)
    if traj["kind"] == "linear":
        pos = (i * d * c / n)[:, None] * np.asarray(traj["axis"], dtype=np.float64)
    else:
        theta = 2.0 * np.pi * i / max(n - 1, 1)
        sense = float(traj["sense"])
        pos = np.stack([d * (np.cos(theta) - 1.0) * sense * c, d * np.sin(theta) * c, np.zeros(n)], axis=1)
    centre = np.array([0.0, 0.0, c])
    targets = {
        "center_facing": centre + 0 * pos,
        "no_rotation": centre + pos,
        "trajectory_aligned": centre + 2 * pos,
    }
    w2c = np.stack([gen3c_view_matrix(p, t, faithful) for p, t in zip(pos, targets[rotation], strict=True)])
    # camera_from_world -> world_from_camera (exact rigid inverse: the faithful R is still a rotation).
    out = np.zeros_like(w2c)
    rt = np.swapaxes(w2c[:, :3, :3], 1, 2)
    out[:, :3, :3] = rt
    out[:, :3, 3] = -np.einsum("nij,nj->ni", rt, w2c[:, :3, 3])
    out[:, 3, 3] = 1.0
    return out


# ---------------------------------------------------------------------------------------------------------------
# Sizes


def parse_size(text: str) -> tuple[int, int]:
    """(width, height) from "WxH": both even positive integers (video codecs need even sizes).

    >>> parse_size("832x480")
    (832, 480)
    """
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not m:
        raise InputError(f"size {text!r} is not WIDTHxHEIGHT; write e.g. --size 832x480")
    w, h = int(m.group(1)), int(m.group(2))
    if w <= 0 or h <= 0:
        raise InputError(f"size {text!r}: width and height must be positive; e.g. --size 832x480")
    if w % 2 or h % 2:
        raise InputError(
            f"size {text!r}: width and height must be even (video codecs need it); try --size {w + w % 2}x{h + h % 2}"
        )
    return w, h
