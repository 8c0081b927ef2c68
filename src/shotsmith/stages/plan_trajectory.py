"""Stage `plan-trajectory`: the shot's camera path from a preset, a director's text or a camera file.

Writes trajectory.json (`shotsmith.formats.write_trajectory`: nerfstudio transforms, OpenGL c2w, with a
`shotsmith` block saying where it came from) and trajectory.png (`shotsmith.plot`), through `artifacts`. The path
starts at the identity (world = source camera) in scene units for presets and texts; a file keeps its own
frames unless --frames / --size / --fps resample or resize it, and is placed by `place_imported`
(`formats.imported`: re-expressed relative to its first camera unless --trajectory-world file, its translations
brought to scene units with the cache's depth scale per --trajectory-units, frame 0 through the source camera's
intrinsics; one printed line says what was done; docs/FORMATS.md "Imported paths"). Intrinsics: 60 degrees
horizontal field of view (`camera.default_intrinsics`) unless `fov` says otherwise or the workspace has a 3D
cache, whose source intrinsics are then "cover"-fitted to the shot size (`camera.fit_intrinsics`). On a video's
4D cache the plan has the video's frames, rate and size and is placed relative to the source camera
(`recapture.target_path`). `make_path` is the workspace-free half that `shotsmith plan` also uses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.camera import CameraPath, default_intrinsics, fit_intrinsics, resample
from shotsmith.console import console
from shotsmith.errors import InputError
from shotsmith.formats import file_units
from shotsmith.formats.imported import UNIT_CHOICES, WORLDS, Anchoring, DepthUnits, UnitsDecision
from shotsmith.motion import build_path
from shotsmith.options import opt, parse_size, show_size
from shotsmith.stage import Stage

NAME = "plan-trajectory"
DEFAULT_FRAMES = 81
DEFAULT_FPS = 16.0
DEFAULT_WIDTH = 832
DEFAULT_HEIGHT = 480
#: --cam value of the path that visits the cameras of a several-photo cache (`multiview.photo_path`).
THROUGH_PHOTOS = "through-photos"


def classify_cam(spec: str) -> tuple[str, str]:
    """("preset" | "file" | "text", value) for a --cam value. Numbers 1-10 are ReCamMaster's cameras, in scene
    units (`recammaster:N:scene`: its 4 m look-at distance becomes the subject distance 1.0)."""
    s = str(spec).strip()
    if re.fullmatch(r"(cam)?0*([1-9]|10)", s, flags=re.IGNORECASE):
        n = int(re.sub(r"\D", "", s))
        return "preset", f"recammaster:{n}:scene"
    if re.fullmatch(r"\d+", s):
        raise InputError(f"--cam {s}: ReCamMaster's cameras are numbered 1 to 10")
    if Path(s).is_file():
        return "file", s
    if re.search(r"\s", s):
        return "text", s
    return "preset", s


@dataclass
class Config:
    """Options of `plan-trajectory` and `plan`. Exactly one of cam, camera, trajectory."""

    cam: str | None = opt(None, flags=("--cam", "--preset"))
    """Camera preset spec (`shotsmith presets`: dolly_in, "static,dolly_in+pan_left:30"), a ReCamMaster number
    1-10, a camera file, words in quotes, or through-photos (a cache from several photos: visit their cameras)."""
    camera: str | None = None
    """Director's words, planned by `shotsmith.textplan`: "slowly push in, then pan left"."""
    trajectory: str | None = opt(None, file=True)
    """A camera file in any format `shotsmith convert` reads (trajectory.json, RealEstate10K txt, GEN3C npz...)."""
    frames: int | None = None
    """Frame count (default 81; a file keeps its own count unless given)."""
    fps: float | None = None
    """Frames per second (default 16; a file keeps its own unless given)."""
    size: tuple[int, int] | None = opt(None, parse=parse_size, show=show_size, metavar="WxH")
    """Image size WIDTHxHEIGHT, even numbers (default 832x480; a file keeps its own unless given)."""
    amount: float | None = None
    """Amount of a single preset in its unit (`shotsmith presets`); None = the preset's default."""
    ease: str | None = None
    """Speed curve: linear, ease_in, ease_out, ease_in_out, exponential; None = the preset's or text's own."""
    duration: float | None = None
    """Shot length in seconds; sets the frame count from --fps when --frames is not given."""
    lenient: bool = False
    """Text plans: skip words the planner does not understand instead of failing."""
    fov: float | None = None
    """Horizontal field of view in degrees for presets and texts (default: the cache's camera, else 60)."""
    target: Literal["first", "follow"] = "first"
    """On a video's 4D cache: first (the path is relative to the source's first frame, ReCamMaster) or follow
    (it rides along with a moving source camera)."""
    trajectory_world: Literal["first", "file"] = "first"
    """Camera files: first (re-expressed relative to the file's first camera, so frame 0 is the source view) or
    file (the file's own world is the source camera's)."""
    trajectory_units: Literal["auto", "scene", "depth", "metres"] = "auto"
    """Camera files: the units of the path's translations. auto: scene if the file says so (our
    trajectory.json), else the depth file's units when --depth is a file, else metres if the file says metres
    and the depth is metric; scene: subject distances as given; depth: the depth's own units; metres."""

    def validate(self) -> None:
        given = [name for name in ("cam", "camera", "trajectory") if getattr(self, name) not in (None, "")]
        if not given:
            raise InputError(
                'no camera motion given; pass a preset (--cam dolly_in), a text (--camera "push in slowly") '
                "or a file (--trajectory path.json)"
            )
        if len(given) > 1:
            raise InputError(
                f"give one camera source, got {' and '.join('--' + g for g in given)}; drop all but one"
            )
        if self.frames is not None and (
            isinstance(self.frames, bool) or int(self.frames) != self.frames or self.frames < 1
        ):
            raise InputError(
                f"--frames {self.frames}: the frame count must be a whole number >= 1, e.g. --frames 81"
            )
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"--fps {self.fps}: frames per second must be positive, e.g. --fps 16")
        if self.duration is not None:
            if not (math.isfinite(self.duration) and self.duration > 0):
                raise InputError(f"--duration {self.duration}: seconds must be positive, e.g. --duration 5")
            if self.frames is not None:
                raise InputError(f"--duration {self.duration:g} and --frames {self.frames}: give one of them")
        if self.frames is not None or self.size is not None or self.duration is not None:  # absurd counts and
            from shotsmith.media import check_shot_size  # sizes: refused before anything is allocated

            check_shot_size(self.frame_count(self.fps or 16.0), *(self.size or (832, 480)))
        for name, v in (("width", self.width), ("height", self.height)):
            if v is not None and (v <= 0 or v % 2):
                raise InputError(
                    f"image {name} {v}: must be an even positive number of pixels, e.g. --size 832x480"
                )
        if self.fov is not None and not 0.0 < self.fov < 180.0:
            raise InputError(f"--fov {self.fov}: a horizontal field of view lies between 0 and 180 degrees")
        if self.target not in ("first", "follow"):
            raise InputError(f"--target {self.target!r}: choose first or follow")
        if self.trajectory_world not in WORLDS:
            raise InputError(f"--trajectory-world {self.trajectory_world!r}: choose {' or '.join(WORLDS)}")
        if self.trajectory_units not in UNIT_CHOICES:
            raise InputError(
                f"--trajectory-units {self.trajectory_units!r}: choose one of {', '.join(UNIT_CHOICES)}"
            )
        changed = [
            flag
            for flag, value, default in (
                ("--trajectory-world", self.trajectory_world, "first"),
                ("--trajectory-units", self.trajectory_units, "auto"),
            )
            if value != default
        ]
        if changed and not self.from_file:
            raise InputError(
                f"{' and '.join(changed)} apply to camera files (--trajectory FILE), not to presets or texts; "
                "drop them"
            )

    @property
    def from_file(self) -> bool:
        """Whether the path comes from a camera file (--trajectory, or --cam naming a file)."""
        return bool(self.trajectory) or (bool(self.cam) and classify_cam(self.cam)[0] == "file")

    @property
    def width(self) -> int | None:
        return None if self.size is None else int(self.size[0])

    @property
    def height(self) -> int | None:
        return None if self.size is None else int(self.size[1])

    def frame_count(self, fps: float, default: int = DEFAULT_FRAMES) -> int:
        if self.frames is not None:
            return int(self.frames)
        if self.duration is not None:
            return max(1, int(round(self.duration * fps)))
        return default


def make_path(cfg: Config, intrinsics=None) -> CameraPath:
    """The camera path `cfg` asks for (no files written). `intrinsics` (4,) overrides the default field of view
    for presets and texts (the workspace stage passes the source camera's, fitted to the shot size)."""
    cfg.validate()
    fps = DEFAULT_FPS if cfg.fps is None else float(cfg.fps)
    width = DEFAULT_WIDTH if cfg.width is None else int(cfg.width)
    height = DEFAULT_HEIGHT if cfg.height is None else int(cfg.height)
    intr = None if cfg.fov is None else default_intrinsics(width, height, cfg.fov)
    if intr is None and intrinsics is not None:
        intr = intrinsics
    kind, value = classify_cam(cfg.cam) if cfg.cam else ("", "")
    if kind == "file":
        return _from_file(replace(cfg, cam=None, trajectory=value))
    if kind == "text":
        return make_path(replace(cfg, cam=None, camera=value), intrinsics)
    if kind == "preset" and value == THROUGH_PHOTOS:
        # The photos' cameras live in a workspace (`photo_path_plan`); without one, a still placeholder of the
        # asked length checks the other options (`run` does so before the cache exists).
        return replace(make_path(replace(cfg, cam="static"), intrinsics), meta={"source": "photos"})
    if kind == "preset":
        from shotsmith.presets import path_from_spec

        cam = path_from_spec(
            value,
            frames=cfg.frame_count(fps),
            fps=fps,
            width=width,
            height=height,
            amount=cfg.amount,
            ease=cfg.ease,
            intrinsics=intr,
        )
        return cam
    if cfg.camera:
        if cfg.amount is not None:
            raise InputError(
                '--amount applies to presets only; say the amount in the text, e.g. "pan left 30 degrees"'
            )
        from shotsmith.textplan import plan_from_text

        plan = plan_from_text(cfg.camera, lenient=cfg.lenient)
        if cfg.ease is not None:
            from shotsmith.camera import EASINGS
            from shotsmith.motion import Plan, Segment

            if cfg.ease not in EASINGS:
                raise InputError(f"--ease {cfg.ease!r}: choose one of {', '.join(EASINGS)}")
            plan = Plan(
                tuple(Segment(replace(s.motion, ease=cfg.ease), s.weight, s.label) for s in plan.segments)
            )
        meta = {"source": "text", "text": cfg.camera, "units": "scene"}
        return build_path(plan, cfg.frame_count(fps), width, height, fps, intrinsics=intr, meta=meta)
    return _from_file(cfg)


def _from_file(cfg: Config) -> CameraPath:
    from shotsmith.formats import read_camera_file
    from shotsmith.formats.imported import anchor

    if cfg.amount is not None or cfg.ease is not None:
        raise InputError(
            "--amount and --ease apply to presets and texts, not to --trajectory files; drop them"
        )
    path = Path(cfg.trajectory)
    if not path.exists():
        raise InputError(f"--trajectory {path}: no such file; check the path")
    cam, anchoring = anchor(read_camera_file(path, relative=False), cfg.trajectory_world)
    if cfg.fps is not None:
        cam = replace(cam, fps=float(cfg.fps))
    if cfg.frames is not None or cfg.duration is not None:
        cam = resample(cam, cfg.frame_count(cam.fps, default=len(cam)))
    if cfg.width is not None or cfg.height is not None:
        cam = cam.with_size(cfg.width or cam.width, cfg.height or cam.height)
    cam.meta = {
        **cam.meta,
        "source": "file",
        "file": str(path),
        "units": file_units(path) or "unknown",
        "anchoring": anchoring.to_json(),
    }
    return cam


def _depth_units(info: A.CacheInfo | None) -> DepthUnits | None:
    if info is None:
        return None
    return DepthUnits(
        scale=float(info.scale_to_backend_units),
        from_file=info.backend == "file",
        metric=info.backend_units == "metres",
    )


def _units_error(cam: CameraPath, cfg: Config, problem: str) -> InputError:
    where = f"--trajectory {cam.meta.get('file')}"
    if cfg.trajectory_units == "auto":
        return InputError(
            f"{where}: the units of its translations are unknown ({problem}); say them with --trajectory-units "
            "scene (the numbers are subject distances), depth (the depth's own units) or metres"
        )
    return InputError(
        f"{where} --trajectory-units {cfg.trajectory_units}: {problem}; build the 3D cache with the matching "
        "--depth first (plan-trajectory -w WORKSPACE), or give --trajectory-units scene"
    )


def place_imported(
    cam: CameraPath, cfg: Config, info: A.CacheInfo | None, *, need_units: bool = True
) -> tuple[CameraPath, str]:
    """An imported path (`make_path` of a camera file) in scene units, and the line saying what was done.

    `info` is the workspace's cache.json (None: none); its depth scale converts a depth file's units or metres
    (`formats.imported.choose_units`). Without `need_units` (`shotsmith plan`, no workspace) translations whose
    units cannot be converted are kept as they are, with a note; otherwise that is an `InputError` naming
    --trajectory-units. Paths that are not from a file are returned as they are, with no note.
    """
    from shotsmith.formats.imported import choose_units, declared_units, note, to_scene_units

    if cam.meta.get("source") != "file":
        return cam, ""
    anchoring = Anchoring(**cam.meta["anchoring"]) if "anchoring" in cam.meta else None
    decision = choose_units(declared_units(cam.meta), cfg.trajectory_units, _depth_units(info))
    if decision.factor is None:
        if need_units or cfg.trajectory_units != "auto":
            raise _units_error(cam, cfg, decision.problem)
        decision = UnitsDecision(
            None, decision.units, f"{decision.problem}; plan-trajectory in a workspace converts them"
        )
        return cam, note(anchoring, decision)
    cam, line = to_scene_units(cam, decision), note(anchoring, decision)
    if info is not None and anchoring is not None and anchoring.world == "first":
        cam, fov_line = _through_source_camera(cam, info)
        line = f"{line}; {fov_line}" if fov_line else line
    return cam, line


def _through_source_camera(cam: CameraPath, info: A.CacheInfo) -> tuple[CameraPath, str]:
    """Frame 0 with the source camera's intrinsics (fitted to the shot size), so that it shows the photo; later
    frames keep the file's zoom relative to its first frame. The line says so when the fields of view differ."""
    from shotsmith.camera import fov_from_focal, rebase_intrinsics

    source = fit_intrinsics(info.intrinsics, (info.width, info.height), (cam.width, cam.height))
    file_fov, source_fov = (fov_from_focal(float(f), cam.width) for f in (cam.intrinsics[0, 0], source[0]))
    out = replace(cam, intrinsics=rebase_intrinsics(cam.intrinsics, source))
    if abs(file_fov - source_fov) <= 0.5:
        return out, ""
    return out, (
        f"frame 0 looks through the source camera ({source_fov:.3g} degrees wide, {info.fov_source}; the file's "
        f"first camera is {file_fov:.3g}: give --fov {file_fov:.4g} to build-3d-cache to use the file's)"
    )


def check_units_early(cfg: Config, depth_is_file: bool) -> None:
    """Fail before a 3D cache is built when a camera file's units could never be inferred (`run`): the file
    does not say its units and the depth will not come from a file (a file saying metres waits for the cache:
    whether the depth is metric is known only then)."""
    if not cfg.from_file or cfg.trajectory_units != "auto" or depth_is_file:
        return
    path = cfg.trajectory or classify_cam(str(cfg.cam))[1]
    if file_units(path) is None:
        raise InputError(
            f"--trajectory {path}: the units of its translations are unknown (its file does not say them and "
            "--depth is not a depth file); say them with --trajectory-units scene (the numbers are subject "
            "distances), depth (the depth's own units) or metres"
        )


def _cache_intrinsics(ws: W.Workspace, cfg: Config):
    """The source camera's intrinsics fitted to the shot size, or None (no cache, a file, or --fov)."""
    if cfg.trajectory or cfg.fov is not None or not ws.exists(W.CACHE_JSON):
        return None
    if cfg.cam and classify_cam(cfg.cam)[0] == "file":
        return None
    info = A.read_cache_info(ws)
    return fit_intrinsics(
        info.intrinsics,
        (info.width, info.height),
        (cfg.width or DEFAULT_WIDTH, cfg.height or DEFAULT_HEIGHT),
    )


def plan_on_video(ws: W.Workspace, cfg: Config) -> CameraPath:
    """The target path of a re-shot: the video's frames, rate and size, the source's intrinsics, relative to
    the source camera (`recapture.target_path`)."""
    from shotsmith.recapture import target_path

    info = A.read_cache_info(ws)
    given = [f"--{k}" for k in ("frames", "fps", "size", "duration") if getattr(cfg, k) is not None]
    if given:
        raise InputError(
            f"{' and '.join(given)}: a re-shot has the video's frames, rate and size; give them to "
            "build-3d-cache (or recapture) instead"
        )
    n, fps = int(info.video["num_frames"]), float(info.video["fps"])
    shot = replace(cfg, frames=n, fps=fps, size=(info.width, info.height), target="first")
    kind = classify_cam(cfg.cam)[0] if cfg.cam else ""
    intr = None if (cfg.trajectory or kind == "file") else info.intrinsics_array
    plan, note = place_imported(make_path(shot, intrinsics=intr), cfg, info)
    if note:
        plan.meta["import_note"] = note
    if len(plan) != n:
        plan = resample(plan, n)
    if (plan.width, plan.height) != (info.width, info.height):
        plan = plan.with_size(info.width, info.height)
    if plan.meta.get("anchoring", {}).get("world") == "file":
        if cfg.target == "follow":
            raise InputError(
                "--trajectory-world file and --target follow: a path in the file's own world does not ride "
                "along with the source camera; drop one of them"
            )
        target = plan.copy()  # the file's world is the 4D cache's: the source camera at frame 0
    else:
        target = target_path(plan, A.read_cache4d(ws).world_from_camera, cfg.target)
    target.meta = {**plan.meta, "recapture": True, "target_mode": cfg.target, "cam": cfg.cam}
    return target


def photo_path_plan(ws: W.Workspace, cfg: Config) -> CameraPath:
    """`--cam through-photos`: a smooth path through the cameras of the workspace's several-photo cache, in their
    order (`multiview.photo_path`), each frame through the first photo's intrinsics fitted to the shot size."""
    from shotsmith.multiview import photo_path

    if not ws.exists(W.CACHE_PHOTOS):
        raise InputError(
            f"--cam {THROUGH_PHOTOS}: the 3D cache of {ws.root} is not from several photos; build it from them "
            "(--image a.jpg --image b.jpg ..., or --images DIR), or choose another --cam"
        )
    for flag, value in (("--amount", cfg.amount), ("--ease", cfg.ease)):
        if value is not None:
            raise InputError(
                f"{flag} does not apply to --cam {THROUGH_PHOTOS} (it visits the photos evenly); drop it"
            )
    cams = A.read_photo_cameras(ws)
    fps = DEFAULT_FPS if cfg.fps is None else float(cfg.fps)
    width = DEFAULT_WIDTH if cfg.width is None else int(cfg.width)
    height = DEFAULT_HEIGHT if cfg.height is None else int(cfg.height)
    if cfg.fov is not None:
        intr = default_intrinsics(width, height, cfg.fov)
    else:
        intr = fit_intrinsics(cams.intrinsics[0], cams.sizes[0], (width, height))
    poses = photo_path(cams.world_from_camera, cfg.frame_count(fps))
    meta = {"source": "photos", "cam": THROUGH_PHOTOS, "units": "scene", "photos": len(cams)}
    return CameraPath(poses, intr, width, height, fps, meta=meta)


def _reads(ws: W.Workspace, cfg: Config) -> list[str]:
    if cfg.cam == THROUGH_PHOTOS and ws.exists(W.CACHE_PHOTOS):
        return [W.CACHE_JSON, W.CACHE_PHOTOS, *([W.CACHE_POINTS] if ws.exists(W.CACHE_POINTS) else [])]
    cloud = [W.CACHE_POINTS] if ws.exists(W.CACHE_POINTS) else []  # drawn in trajectory.html
    if A.cache_is_4d(ws):
        return [W.CACHE_JSON, W.CACHE_FRAMES, *cloud]
    if cfg.from_file:  # its units may come from the cache's depth scale
        return ([W.CACHE_JSON] if ws.exists(W.CACHE_JSON) else []) + cloud
    return ([W.CACHE_JSON] if _cache_intrinsics(ws, cfg) is not None else []) + cloud


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Plan the workspace's camera path: trajectory.json + trajectory.png."""
    if A.cache_is_4d(ws):
        cam = plan_on_video(ws, cfg)
        note = cam.meta.get("import_note", "")
    elif cfg.cam == THROUGH_PHOTOS:
        cfg.validate()
        cam, note = photo_path_plan(ws, cfg), ""
    else:
        info = A.read_cache_info(ws) if ws.exists(W.CACHE_JSON) else None
        cam, note = place_imported(make_path(cfg, intrinsics=_cache_intrinsics(ws, cfg)), cfg, info)
    outputs = A.write_trajectory(ws, cam)
    extra = {
        "frames": len(cam),
        "fps": cam.fps,
        "size": [cam.width, cam.height],
        "units": cam.meta.get("units"),
        "source": cam.meta.get("source"),
    }
    if note:
        extra["note"] = note
        console.print(f"trajectory: {note}", markup=False, soft_wrap=True)
    return W.StageResult(outputs=outputs, extra=extra)


def _backend(cfg: Config) -> tuple[str, str]:
    kind = classify_cam(cfg.cam)[0] if cfg.cam else ("text" if cfg.camera else "file")
    return kind, ""


def _report(ws: W.Workspace, rec: W.StageRecord) -> str | None:
    if rec.extra.get("skipped"):
        return None
    return (
        f"wrote {ws.path(W.TRAJECTORY)} and {ws.path(W.TRAJECTORY_PNG)} "
        f"({rec.extra.get('frames')} frames, {rec.extra.get('units')} units)"
    )


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=_reads,
    requires=lambda ws, cfg: [],
    writes=(W.TRAJECTORY, W.TRAJECTORY_PNG, W.TRAJECTORY_HTML),
    summary="Plan the workspace's camera path: trajectory.json + trajectory.png.",
    examples=(
        "shotsmith plan-trajectory -w shots/demo --cam dolly_in+pan_left",
        'shotsmith plan-trajectory -w shots/demo --camera "crane up, then orbit left"',
        "shotsmith plan-trajectory -w shots/scene --cam through-photos  # a cache built from several photos",
        "shotsmith plan-trajectory -w shots/demo --trajectory camera_extrinsics.json --frames 81",
    ),
    backend=_backend,
    report=_report,
)
