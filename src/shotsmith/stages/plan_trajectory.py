"""Stage `plan-trajectory`: the shot's camera path from a preset, a director's text or a camera file.

Writes trajectory.json (`shotsmith.formats.write_trajectory`: nerfstudio transforms, OpenGL c2w, with a
`shotsmith` block saying where it came from) and trajectory.png (`shotsmith.plot`), each atomically. The path
starts at the identity (world = source camera) in scene units for presets and texts; a file keeps its own
frames and units unless --frames / --size / --fps resample or resize it. Intrinsics: 60 degrees horizontal field
of view (`camera.default_intrinsics`) unless `hfov_deg` says otherwise or the workspace has a 3D cache, whose
source intrinsics are then "cover"-fitted to the shot size (`camera.fit_intrinsics`). `make_path` and `write_outputs` are the workspace-free halves that `shotsmith plan` also uses.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from shotsmith import workspace as W
from shotsmith.camera import CameraPath, default_intrinsics, fit_intrinsics, resample
from shotsmith.errors import InputError, PlanError
from shotsmith.motion import build_path

STAGE = "plan-trajectory"
DEFAULT_FRAMES = 81
DEFAULT_FPS = 16.0
DEFAULT_WIDTH = 832
DEFAULT_HEIGHT = 480


@dataclass
class PlanTrajectoryConfig:
    """Options of `plan-trajectory` and `plan` (the CLI's flags). Exactly one of cam, camera, trajectory."""

    cam: str | None = None
    """Preset spec (`shotsmith presets`): "dolly_in", "static,dolly_in+pan_left:30", "recammaster:5"..."""
    camera: str | None = None
    """Director's words, planned by `shotsmith.textplan`: "slowly push in, then pan left"."""
    trajectory: str | None = None
    """A camera file in any format `shotsmith.formats` reads (trajectory.json, RealEstate10K txt, GEN3C npz...)."""
    frames: int | None = None
    """Frame count (default 81; a file keeps its own count unless given)."""
    fps: float | None = None
    """Frames per second (default 16; a file keeps its own unless given)."""
    width: int | None = None
    """Image width in pixels (default 832; a file keeps its own unless given, its intrinsics are rescaled)."""
    height: int | None = None
    """Image height in pixels (default 480)."""
    amount: float | None = None
    """Amount of a single preset in its unit (degrees, scene units, x focal...); None = the preset's default."""
    ease: str | None = None
    """Speed curve overriding the preset's or text's (`camera.EASINGS`); None = their own."""
    duration: float | None = None
    """Shot length in seconds; sets the frame count to round(duration * fps) when `frames` is not given."""
    lenient: bool = False
    """Text plans: skip words the planner does not understand instead of failing."""
    hfov_deg: float | None = None
    """Horizontal field of view in degrees for presets and texts (None = 60)."""

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
        for name in ("width", "height"):
            v = getattr(self, name)
            if v is not None and (v <= 0 or v % 2):
                raise InputError(
                    f"image {name} {v}: must be an even positive number of pixels, e.g. --size 832x480"
                )
        if self.hfov_deg is not None and not 0.0 < self.hfov_deg < 180.0:
            raise InputError(
                f"--fov {self.hfov_deg}: a horizontal field of view lies between 0 and 180 degrees"
            )

    def frame_count(self, fps: float, default: int = DEFAULT_FRAMES) -> int:
        if self.frames is not None:
            return int(self.frames)
        if self.duration is not None:
            return max(1, int(round(self.duration * fps)))
        return default


def make_path(cfg: PlanTrajectoryConfig, intrinsics=None) -> CameraPath:
    """The camera path `cfg` asks for (no files written). `intrinsics` (4,) overrides the default field of view
    for presets and texts (the workspace stage passes the source camera's, fitted to the shot size)."""
    cfg.validate()
    fps = DEFAULT_FPS if cfg.fps is None else float(cfg.fps)
    width = DEFAULT_WIDTH if cfg.width is None else int(cfg.width)
    height = DEFAULT_HEIGHT if cfg.height is None else int(cfg.height)
    intr = None if cfg.hfov_deg is None else default_intrinsics(width, height, cfg.hfov_deg)
    if intr is None and intrinsics is not None:
        intr = intrinsics
    if cfg.cam:
        from shotsmith.presets import path_from_spec

        cam = path_from_spec(
            cfg.cam,
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
        try:
            from shotsmith.textplan import plan_from_text
        except ImportError as exc:  # the text planner is a separate module of this package
            raise PlanError(
                f"text planning is not available in this installation ({exc}); use --cam PRESET"
            ) from exc
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


def _from_file(cfg: PlanTrajectoryConfig) -> CameraPath:
    from shotsmith.formats import read_camera_file

    if cfg.amount is not None or cfg.ease is not None:
        raise InputError(
            "--amount and --ease apply to presets and texts, not to --trajectory files; drop them"
        )
    path = Path(cfg.trajectory)
    if not path.exists():
        raise InputError(f"--trajectory {path}: no such file; check the path")
    cam = read_camera_file(path)
    if cfg.fps is not None:
        cam = replace(cam, fps=float(cfg.fps))
    if cfg.frames is not None or cfg.duration is not None:
        cam = resample(cam, cfg.frame_count(cam.fps, default=len(cam)))
    if cfg.width is not None or cfg.height is not None:
        cam = cam.with_size(cfg.width or cam.width, cfg.height or cam.height)
    cam.meta = {**cam.meta, "source": "file", "file": str(path)}
    return cam


def write_outputs(cam: CameraPath, json_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Write trajectory.json and its plot to exactly these paths (callers own atomicity)."""
    from shotsmith.formats import write_trajectory
    from shotsmith.plot import plot_trajectory

    write_trajectory(json_path, cam)
    plot_trajectory(cam, png_path)


def run(ws: W.Workspace, cfg: PlanTrajectoryConfig, *, force: bool = False) -> W.StageRecord:
    """Plan the workspace's camera path and record the run (skipped when nothing changed)."""
    cfg.validate()
    source = "preset" if cfg.cam else "text" if cfg.camera else "file"
    external = {"trajectory": cfg.trajectory} if cfg.trajectory else None

    # Presets and texts look through the source camera: its intrinsics, "cover"-fitted to the shot size, so
    # frame 0 shows the source image filling the frame (needs build-3d-cache first; else 60 degrees).
    fit = None
    inputs: list[str] = []
    if not cfg.trajectory and cfg.hfov_deg is None and ws.exists(W.CACHE_JSON):
        info = ws.read_json(W.CACHE_JSON)
        fit = fit_intrinsics(
            info["intrinsics"],
            (int(info["width"]), int(info["height"])),
            (cfg.width or DEFAULT_WIDTH, cfg.height or DEFAULT_HEIGHT),
        )
        inputs = [W.CACHE_JSON]

    def stage() -> W.StageResult:
        cam = make_path(cfg, intrinsics=fit)
        from shotsmith.formats import write_trajectory
        from shotsmith.plot import plot_trajectory

        with ws.atomic(W.TRAJECTORY) as tmp:
            write_trajectory(tmp, cam)
        with ws.atomic(W.TRAJECTORY_PNG) as tmp:
            plot_trajectory(cam, tmp)
        extra = {
            "frames": len(cam),
            "fps": cam.fps,
            "size": [cam.width, cam.height],
            "units": cam.meta.get("units"),
        }
        return W.StageResult(outputs=[W.TRAJECTORY, W.TRAJECTORY_PNG], extra=extra)

    return W.run_stage(
        ws, STAGE, stage, options=asdict(cfg), inputs=inputs, external=external, backend=source, force=force
    )
