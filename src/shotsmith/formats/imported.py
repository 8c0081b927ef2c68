"""How an imported camera path enters shotsmith's world: anchored at its first camera, in scene units.

A camera file read by `shotsmith.formats` keeps its own world and its own units. shotsmith's world is the
source camera (docs/CONVENTIONS.md) and its units are scene units (1.0 = subject distance), so an imported path
is, by default, re-expressed relative to its first camera (`anchor`: frame 0 becomes the identity, as
ReCamMaster and GenDoP do with their own paths) and its translations are multiplied by the factor that turns
its units into scene units (`choose_units`: the same factor that normalised the depth, when the depth map and the
path share units). Both are pure: the plan stage chooses from its options and the workspace's 3D cache, and
prints `note`. docs/FORMATS.md ("Imported paths") says what users can expect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from shotsmith.camera import CameraPath, relative_to_first, scale_translations

World = Literal["first", "file"]
UnitsChoice = Literal["auto", "scene", "depth", "metres"]
WORLDS: tuple[str, ...] = ("first", "file")
UNIT_CHOICES: tuple[str, ...] = ("auto", "scene", "depth", "metres")
#: A first camera closer than this to the identity (radians / file units) needs no re-expressing.
IDENTITY_TOL = 1e-9


def declared_units(meta: dict) -> str | None:
    """The units a path's file says its translations are in: "scene", "metres", or None (not said).

    shotsmith's trajectory.json says "subject_distance" (scene units) or "metres"; the Unreal-Engine reader says
    "metres" (ReCamMaster's centimetres / 100); other formats say nothing.
    """
    units = str(meta.get("units") or "").strip().lower()
    if units in ("scene", "subject_distance"):
        return "scene"
    if units in ("metres", "meters", "metre", "meter", "m"):
        return "metres"
    return None


@dataclass(frozen=True)
class Anchoring:
    """What `anchor` did to a path."""

    world: str
    """"first" (re-expressed relative to its first camera) or "file" (the file's own world kept)."""
    angle_deg: float
    """Rotation of the file's first camera from the file's world axes, in degrees."""
    distance: float
    """Distance of the file's first camera from the file's origin, in the file's units."""

    @property
    def moved(self) -> bool:
        """Whether re-expressing changed the path (its first camera was not the identity)."""
        return self.world == "first" and (
            self.angle_deg > math.degrees(IDENTITY_TOL) or self.distance > IDENTITY_TOL
        )

    def to_json(self) -> dict:
        """What trajectory.json's `shotsmith.source.anchoring` keeps (`Anchoring(**d)` reads it back)."""
        return {"world": self.world, "angle_deg": self.angle_deg, "distance": self.distance}


def first_camera_offset(cam: CameraPath) -> tuple[float, float]:
    """(degrees, distance) of the first camera from the world's axes and origin."""
    from scipy.spatial.transform import Rotation

    m = cam.world_from_camera[0]
    angle = float(np.degrees(Rotation.from_matrix(m[:3, :3]).magnitude()))
    return angle, float(np.linalg.norm(m[:3, 3]))


def anchor(cam: CameraPath, world: str = "first") -> tuple[CameraPath, Anchoring]:
    """The path in the world `world` names: "first" = relative to its first camera (frame 0 = identity, the
    source view), "file" = unchanged. Intrinsics, size, fps and meta are kept."""
    if world not in WORLDS:
        raise ValueError(f"world {world!r}: choose one of {', '.join(WORLDS)}")
    angle, distance = first_camera_offset(cam)
    done = Anchoring(world, angle, distance)
    if world == "file" or not done.moved:
        return cam, done
    return relative_to_first(cam), done


@dataclass(frozen=True)
class DepthUnits:
    """What a workspace's 3D cache says of its depth's units (cache.json)."""

    scale: float
    """s with depth_in_its_units = s * scene_depth (`CacheInfo.scale_to_backend_units`)."""
    from_file: bool
    """The depth came from the user's depth file (`CacheInfo.backend == "file"`)."""
    metric: bool
    """The depth is in metres (a metric model, `CacheInfo.backend_units == "metres"`)."""


@dataclass(frozen=True)
class UnitsDecision:
    """How an imported path's translations become scene units."""

    factor: float | None
    """Multiply the translations by this; None = they cannot be converted (`problem` says why)."""
    units: str
    """The units the path was read in: "scene", "depth file" (a depth file's), "depth" (a depth model's own),
    "metres", or "unknown"."""
    problem: str = ""
    """Why the units are unknown or cannot be converted ("" when `factor` is set)."""


def choose_units(declared: str | None, requested: str, depth: DepthUnits | None) -> UnitsDecision:
    """The factor to scene units of a path whose file says `declared` ("scene", "metres" or None), for the
    user's `requested` choice (`UNIT_CHOICES`), given the cache's depth (None: no 3D cache).

    "auto": scene units when the file says so (shotsmith's own trajectory.json); else the depth file's units when
    the depth came from a file (a depth map and a path from one reconstruction share units, GenDoP's case); else
    metres when the file says metres and the depth is metric; else unknown. "depth" divides by the cache's scale
    whatever the depth's backend; "metres" needs a metric depth.
    """
    if requested == "scene":
        return UnitsDecision(1.0, "scene")
    if requested not in UNIT_CHOICES:
        raise ValueError(f"units {requested!r}: choose one of {', '.join(UNIT_CHOICES)}")
    if requested == "auto" and declared == "scene":
        return UnitsDecision(1.0, "scene")
    if depth is None:
        if requested != "auto":
            return UnitsDecision(None, requested, "there is no 3D cache whose depth scale converts them")
        said = f"its file says {declared}" if declared else "its file does not say its units"
        return UnitsDecision(
            None, declared or "unknown", f"{said} and there is no 3D cache to convert them with"
        )
    per_scene = 1.0 / float(depth.scale)
    if requested == "depth" or (requested == "auto" and depth.from_file):
        return UnitsDecision(per_scene, "depth file" if depth.from_file else "depth")
    if depth.metric:
        if requested == "metres" or declared == "metres":
            return UnitsDecision(per_scene, "metres")
    elif requested == "metres" or declared == "metres":
        source = "the depth file's" if depth.from_file else "the depth model's"
        return UnitsDecision(
            None,
            "metres",
            f"the path is in metres but {source} depth is relative, so metres cannot be converted",
        )
    return UnitsDecision(
        None, "unknown", "its file does not say its units and the depth does not come from a depth file"
    )


def to_scene_units(cam: CameraPath, decision: UnitsDecision) -> CameraPath:
    """`cam` with its translations multiplied by `decision.factor`, its meta saying scene units."""
    if decision.factor is None:
        raise ValueError(f"cannot convert to scene units: {decision.problem}")
    out = cam if decision.factor == 1.0 else scale_translations(cam, decision.factor)
    meta = {**cam.meta, "units": "scene"}
    if decision.factor != 1.0:
        meta["translation_scale"] = float(decision.factor)
        meta["units_from"] = decision.units
    return replace(out, meta=meta)


def note(anchoring: Anchoring | None, decision: UnitsDecision | None) -> str:
    """One line saying what was done: "re-expressed relative to the first camera (...); translations x 3.51
    to scene units (the depth file's units)"."""
    parts = []
    if anchoring is not None:
        if anchoring.moved:
            parts.append(
                "re-expressed relative to the first camera (it was turned "
                f"{anchoring.angle_deg:.3g} degrees and {anchoring.distance:.3g} file units from the file's origin)"
            )
        elif anchoring.world == "first":
            parts.append("starts at the identity already")
        else:
            angle, distance = anchoring.angle_deg, anchoring.distance
            parts.append(
                f"kept in the file's own world (first camera {angle:.3g} degrees and {distance:.3g} file units from it)"
            )
    if decision is not None:
        if decision.factor is None:
            parts.append(f"translations kept in the file's units ({decision.problem})")
        elif decision.factor == 1.0:
            parts.append("translations in scene units as given")
        else:
            what = {"depth file": "the depth file's units", "depth": "the depth's own units"}.get(
                decision.units, decision.units
            )
            parts.append(f"translations x {decision.factor:.3g} to scene units (from {what})")
    return "; ".join(parts)
