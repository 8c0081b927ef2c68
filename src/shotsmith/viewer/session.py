"""The viewer's state and every edit it makes, without viser: what the page shows and what a click writes.

One `ViewerSession` per workspace, shared by every browser tab (so two tabs see the same state). It holds the
**draft**, the path being edited: a preset with its amount and ease, a director's text, keyframes, or the saved
trajectory.json itself, always with the shot's frames and fps. Editing the draft writes nothing; `save` writes it
through the plan-trajectory stage, the same code as the command line: a preset or a text as
`plan-trajectory --cam/--camera ... --frames --fps --size`, keyframes (or an edited saved path) as the path file
input/viewer_path.json and `plan-trajectory --trajectory` on it. So shot.json records the plan as the CLI would,
and `shotsmith run -w WS` reruns what became stale. Objects are placed with the insert-object stage (the clicked
point's source pixel as `--at-pixel`), a rig is recorded in shot.json's request, and "Render shot" runs caption,
render-guidance and generate in a background thread (`RenderJob`) whose progress the page polls.

A workspace without a cache shows the path alone and says how to add the photo; a broken trajectory.json is one
line (`error`) and the draft starts empty. Stage runs inside this process are serialised by `lock` (the
workspace's own lock guards against other processes only).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.camera import CameraPath, default_intrinsics, fit_intrinsics, fov_from_focal, resample
from shotsmith.errors import InputError, ShotsmithError
from shotsmith.stage import execute
from shotsmith.viewer import keyframes as K
from shotsmith.viewer.points import DEFAULT_MAX_POINTS, point_size, source_pixel, subsample

#: Workspace name of the path file the viewer saves keyframes (or an edited path) to.
VIEWER_PATH = W.input_file("viewer_path.json")
DEFAULT_FRAMES = 81
DEFAULT_FPS = 16.0
DEFAULT_SIZE = (832, 480)
MODES = ("preset", "text", "keyframes", "saved")
#: Preview frames kept per path (832x480 RGB: 1.2 MB each).
PREVIEW_CACHE_FRAMES = 128


class ViewerBusy(ShotsmithError):
    """Another edit or a render holds the workspace in this process."""


def one_line(exc: BaseException) -> str:
    """An error as the one line the page and the console show."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@dataclass
class CacheView:
    """What the page draws of the 3D cache."""

    points: np.ndarray
    """(P, 3) float32 subsample of the cache's points."""
    colors: np.ndarray
    """(P, 3) uint8."""
    total: int
    """Points in the cache."""
    point_size: float
    """World-space size that closes the gaps."""
    info: A.CacheInfo
    image: np.ndarray
    """(h, w, 3) uint8 source photo at cache resolution (the source frustum's texture)."""


@dataclass
class Draft:
    """The path being edited (module docstring)."""

    mode: str = "preset"
    preset: str = "dolly_in"
    amount: float | None = None
    ease: str | None = None
    text: str = ""
    keyframes: list[K.Keyframe] = field(default_factory=list)
    frames: int = DEFAULT_FRAMES
    fps: float = DEFAULT_FPS
    size: tuple[int, int] = DEFAULT_SIZE
    saved: CameraPath | None = None
    """The loaded trajectory.json (mode "saved")."""


@dataclass
class RenderJob:
    """A background "Render shot": caption, render-guidance, generate; polled by the page."""

    steps: list[str]
    done: int = 0
    current: str = ""
    error: str = ""
    output: Path | None = None
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def progress(self) -> float:
        """0..100."""
        return 100.0 * self.done / max(len(self.steps), 1)

    def line(self) -> str:
        if self.error:
            return f"render failed: {self.error}"
        if self.output is not None:
            return f"done in {self.finished - self.started:.1f} s: {self.output}"
        return f"{self.current} ({self.done}/{len(self.steps)}, {time.time() - self.started:.0f} s)"


class ViewerSession:
    """The state of one workspace's viewer (module docstring)."""

    def __init__(self, ws: W.Workspace, max_points: int = DEFAULT_MAX_POINTS) -> None:
        self.ws = ws
        self.max_points = int(max_points)
        self.lock = threading.RLock()
        self.write_lock = threading.Lock()
        self.version = 0
        self.errors: dict[str, str] = {}
        self.notice = ""
        self.unsaved = False
        self.draft = Draft()
        self.cache: CacheView | None = None
        self.objects: list[dict] = []
        self.object_points: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.rig: str | None = None
        self.job: RenderJob | None = None
        self._scene = None
        self._path: CameraPath | None = None
        self._preview_lock = threading.Lock()
        self._preview_for: CameraPath | None = None
        self._preview_scene = None
        self._preview_frames: dict[int, np.ndarray] = {}
        self._prefetch: threading.Thread | None = None
        self._prefetch_for: CameraPath | None = None
        self._seen: dict[str, str] = {}
        self.reload()

    @property
    def error(self) -> str:
        """The problems with the workspace's files, one line each ("" when none)."""
        return "\n".join(v for v in self.errors.values() if v)

    # -- loading ---------------------------------------------------------------------------------------------
    def _hash(self, name: str) -> str:
        p = self.ws.path(name)
        return W.hash_file(p) if p.exists() else "missing"

    def reload(self) -> None:
        """Read the cache, the objects, the rig and trajectory.json again (the draft becomes the saved path)."""
        with self.lock:
            self._load_cache()
            self._load_objects()
            request = A.request(self.ws) if self.ws.exists(W.SHOT) else {}
            self.rig = request.get("rig") or None
            self._load_trajectory()
            self._seen = {n: self._hash(n) for n in (W.TRAJECTORY, W.CACHE_JSON, W.OBJECTS_JSON)}
            self._changed()

    def _load_cache(self) -> None:
        self.cache, self._scene = None, None
        self.errors.pop("cache", None)
        if not self.ws.exists(W.CACHE_JSON):
            return
        try:
            info = A.read_cache_info(self.ws)
            pts, cols = A.read_cache_points(self.ws)
            from shotsmith.media import read_image

            image = read_image(self.ws.require(W.CACHE_IMAGE))
        except ShotsmithError as exc:
            self.errors["cache"] = f"cannot read the 3D cache: {one_line(exc)}"
            return
        sub, subc, _ = subsample(pts, cols, self.max_points)
        size = point_size(sub, float(info.intrinsics[0]), len(sub) / max(len(pts), 1))
        self.cache = CacheView(sub, subc, len(pts), size, info, image)

    def _load_objects(self) -> None:
        self.objects, self.object_points = [], []
        self.errors.pop("objects", None)
        if not self.ws.exists(W.OBJECTS_JSON):
            return
        try:
            self.objects = list(A.read_objects(self.ws)["objects"])
            self.object_points = [(o.name, o.points, o.colors) for o in A.read_object_layers(self.ws)]
        except ShotsmithError as exc:
            self.errors["objects"] = f"cannot read the placed objects: {one_line(exc)}"

    def _load_trajectory(self) -> None:
        self.errors.pop("trajectory", None)
        if not self.ws.exists(W.TRAJECTORY):
            self.draft = replace(self.draft, mode="preset", saved=None, keyframes=[])
            self.unsaved = True
            return
        try:
            cam = A.read_trajectory(self.ws)
        except ShotsmithError as exc:
            self.errors["trajectory"] = f"trajectory.json is broken: {one_line(exc)}"
            self.draft = replace(self.draft, mode="preset", saved=None, keyframes=[])
            self.unsaved = True
            return
        keys = K.keyframes_from_meta(cam)
        self.draft = replace(
            self.draft,
            mode="keyframes" if keys else "saved",
            saved=cam,
            keyframes=keys,
            frames=len(cam),
            fps=cam.fps,
            size=(cam.width, cam.height),
        )
        if not keys:
            self._restore_plan(cam)
        self.unsaved = False

    def _restore_plan(self, cam: CameraPath) -> None:
        """Make the draft the preset or text that wrote trajectory.json (its plan-trajectory record) when that
        reproduces the file; otherwise the draft stays the saved path itself."""
        rec = self.ws.record("plan-trajectory")
        if rec is None or rec.status != "ok" or rec.outputs.get(W.TRAJECTORY) != self._hash(W.TRAJECTORY):
            return
        opts = rec.options
        if opts.get("fov") is not None or opts.get("duration") is not None or A.cache_is_4d(self.ws):
            return
        from shotsmith.stages.plan_trajectory import classify_cam

        if opts.get("cam") and classify_cam(opts["cam"])[0] == "preset":
            candidate = replace(self.draft, mode="preset", preset=opts["cam"], amount=opts.get("amount"))
        elif opts.get("camera"):
            candidate = replace(self.draft, mode="text", text=opts["camera"])
        else:
            return
        candidate = replace(candidate, ease=opts.get("ease"))
        keep, self.draft, self._path = self.draft, candidate, None
        try:
            same = np.allclose(
                self.path().world_from_camera, cam.world_from_camera, atol=1e-6
            ) and np.allclose(self.path().intrinsics, cam.intrinsics, atol=1e-6)
        except ShotsmithError:
            same = False
        if not same:
            self.draft = keep
        self._path = None

    def poll(self) -> bool:
        """Reload what another process changed (trajectory.json, the cache, objects); True when it did. A draft
        with unsaved edits is kept and a notice says trajectory.json changed on disk."""
        with self.lock:
            now = {n: self._hash(n) for n in self._seen}
            if now == self._seen:
                return False
            changed = [n for n in now if now[n] != self._seen[n]]
            self._seen = now
            if W.CACHE_JSON in changed:
                self._load_cache()
            if W.OBJECTS_JSON in changed:
                self._load_objects()
                self._scene = None
            if W.TRAJECTORY in changed:
                if self.unsaved and self.draft.mode != "saved":
                    self.notice = (
                        "trajectory.json changed on disk; press Reload to see it (your edits are kept)"
                    )
                else:
                    self._load_trajectory()
            self._changed()
            return True

    def _changed(self) -> None:
        self._path = None
        self.version += 1

    # -- the draft -------------------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        return self.draft.size

    def shot_intrinsics(self) -> np.ndarray:
        """(4,) the intrinsics a preset or text gets in this workspace: the cache's camera fitted to the shot
        size (as the plan stage does), else 60 degrees horizontal."""
        w, h = self.size
        if self.cache is not None:
            info = self.cache.info
            return fit_intrinsics(info.intrinsics, (info.width, info.height), (w, h))
        return default_intrinsics(w, h)

    def default_fov(self) -> float:
        """Vertical field of view (degrees) of a new keyframe: the draft's first frame's, else the shot's."""
        path = self.path()
        if path is not None:
            return K.vertical_fov(path, 0)
        return fov_from_focal(float(self.shot_intrinsics()[1]), self.size[1])

    def plan_config(self):
        """The plan-trajectory config of the draft (keyframes and edited paths: the path file)."""
        from shotsmith.stages import plan_trajectory as plan_stage

        d = self.draft
        common = {"frames": int(d.frames), "fps": float(d.fps), "size": tuple(d.size)}
        if d.mode == "preset":
            return plan_stage.Config(cam=d.preset, amount=d.amount, ease=d.ease, **common)
        if d.mode == "text":
            if not d.text.strip():
                raise InputError("the text box is empty; type the camera motion, e.g. 'slowly push in'")
            return plan_stage.Config(camera=d.text, ease=d.ease, **common)
        return plan_stage.Config(trajectory=str(self.ws.path(VIEWER_PATH).resolve()))

    def path(self) -> CameraPath | None:
        """The draft's camera path (None when there is nothing to show); raises on a bad draft."""
        if self._path is not None:
            return self._path
        d = self.draft
        if d.mode == "keyframes":
            if not d.keyframes:
                return d.saved
            cam = K.path_from_keyframes(d.keyframes, d.frames, d.fps, *d.size, meta={"source": "viewer"})
        elif d.mode == "saved":
            if d.saved is None:
                return None
            cam = d.saved
            if len(cam) != d.frames:
                cam = resample(cam, int(d.frames))
            if cam.fps != d.fps:
                cam = replace(cam, fps=float(d.fps))
        else:
            from shotsmith.stages.plan_trajectory import make_path

            cam = make_path(self.plan_config(), intrinsics=self.shot_intrinsics())
        self._path = cam
        return cam

    def try_path(self) -> CameraPath | None:
        """`path()`, or None with `notice` saying why."""
        try:
            return self.path()
        except ShotsmithError as exc:
            self.notice = one_line(exc)
            return None

    def _edit(self, **changes) -> None:
        with self.lock:
            self.draft = replace(self.draft, **changes)
            self.unsaved = True
            self.notice = ""
            self._changed()

    def set_preset(self, preset: str, amount: float | None = None, ease: str | None = None) -> None:
        """Make the draft a preset (`shotsmith presets`) with an amount (None: its default) and an ease."""
        self._edit(mode="preset", preset=str(preset), amount=amount, ease=ease or None, keyframes=[])

    def set_text(self, text: str) -> None:
        """Make the draft the plan of a director's words (`shotsmith.textplan`)."""
        self._edit(mode="text", text=str(text), keyframes=[])

    def set_shot(self, frames: int | None = None, fps: float | None = None) -> None:
        """Change the shot's frame count and/or frame rate."""
        if frames is not None and int(frames) < 1:
            raise InputError(f"frames {frames}: must be at least 1")
        if fps is not None and not float(fps) > 0:
            raise InputError(f"fps {fps}: must be positive")
        self._edit(
            frames=self.draft.frames if frames is None else int(frames),
            fps=self.draft.fps if fps is None else float(fps),
        )

    def _keys(self) -> list[K.Keyframe]:
        return list(self.draft.keyframes)

    def _next_id(self) -> int:
        return max((k.id for k in self.draft.keyframes), default=-1) + 1

    def add_keyframe(self, world_from_camera, fov: float | None = None) -> K.Keyframe:
        """Append a keyframe (e.g. the browser's current view); keyframe times are spread evenly again."""
        with self.lock:
            key = K.Keyframe(
                world_from_camera, self.default_fov() if fov is None else fov, 1.0, self._next_id()
            )
            keys = K.spread_times(sorted(self._keys(), key=lambda k: k.time) + [key])
            self._edit(mode="keyframes", keyframes=keys)
            return next(k for k in keys if k.id == key.id)

    def keyframe(self, key_id: int) -> K.Keyframe:
        for k in self.draft.keyframes:
            if k.id == key_id:
                return k
        raise InputError(f"no keyframe {key_id}")

    def _replace_key(self, new: K.Keyframe) -> None:
        self._edit(mode="keyframes", keyframes=[new if k.id == new.id else k for k in self._keys()])

    def move_keyframe(self, key_id: int, position=None, rotation=None) -> None:
        """Move a keyframe (the gizmo): a new position (3,) and/or rotation (3, 3) world_from_camera."""
        with self.lock:
            self._replace_key(self.keyframe(key_id).moved(position, rotation))

    def set_keyframe(self, key_id: int, fov: float | None = None, time: float | None = None) -> None:
        """Change a keyframe's vertical field of view (degrees) and/or its normalised time."""
        with self.lock:
            k = self.keyframe(key_id)
            new = K.Keyframe(
                k.world_from_camera, k.fov if fov is None else fov, k.time if time is None else time, k.id
            )
            self._replace_key(new)

    def delete_keyframe(self, key_id: int) -> None:
        with self.lock:
            self.keyframe(key_id)
            keys = [k for k in self._keys() if k.id != key_id]
            self._edit(mode="keyframes", keyframes=K.spread_times(sorted(keys, key=lambda k: k.time)))

    def even_times(self) -> None:
        with self.lock:
            self._edit(keyframes=K.spread_times(sorted(self._keys(), key=lambda k: k.time)))

    def keyframes_from_plan(self, count: int = 3) -> None:
        """Turn the draft's path into `count` keyframes to edit (first, ..., last frame)."""
        with self.lock:
            cam = self.path()
            if cam is None:
                raise InputError("no path to take keyframes from; choose a preset or type a text first")
            self._edit(mode="keyframes", keyframes=K.keyframes_from_path(cam, count))

    def import_path(self, cam: CameraPath) -> None:
        """Make an imported camera file the draft (unsaved; Save writes it as the plan)."""
        self._edit(
            mode="saved",
            saved=cam,
            keyframes=K.keyframes_from_meta(cam),
            frames=len(cam),
            fps=cam.fps,
            size=(cam.width, cam.height),
        )
        if self.draft.keyframes:
            self._edit(mode="keyframes")

    def clear_keyframes(self) -> None:
        self._edit(mode="preset", keyframes=[])

    # -- writes ----------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self):
        """Hold the right to write the workspace (one stage run at a time in this process), or ViewerBusy."""
        if not self.write_lock.acquire(blocking=False):
            raise ViewerBusy(
                "the workspace is busy (a render or another save is running); try again when it ends"
            )
        try:
            yield
        finally:
            self.write_lock.release()

    def save(self) -> W.StageRecord:
        """Write the draft through the plan-trajectory stage (trajectory.json, .png, the record in shot.json)."""
        from shotsmith.formats import write_trajectory
        from shotsmith.stages import plan_trajectory as plan_stage

        with self._writing(), self.lock:
            cam = self.path()
            if cam is None:
                raise InputError("nothing to save: choose a preset, type a text or add keyframes")
            rec = self.ws.record(plan_stage.NAME)
            if not self.unsaved and rec is not None and self.ws.exists(W.TRAJECTORY):
                self.notice = "no changes to save: trajectory.json is the path shown"
                return rec
            if self.draft.mode in ("keyframes", "saved"):
                with self.ws.locked(), self.ws.atomic(VIEWER_PATH) as tmp:
                    write_trajectory(tmp, replace(cam, meta={**cam.meta, "source": "viewer"}))
            rec = execute(self.ws, plan_stage.STAGE, self.plan_config())
            self._load_trajectory()
            self._seen[W.TRAJECTORY] = self._hash(W.TRAJECTORY)
            self.notice = f"saved {self.ws.path(W.TRAJECTORY)} ({len(cam)} frames)"
            self.errors.pop("trajectory", None)
            self._changed()
            return rec

    def place_object(
        self,
        point,
        object_path: str,
        height: float | None = None,
        mode: str = "layered",
        name: str | None = None,
    ) -> str:
        """Place an object file standing on the cloud point `point` (3,) through the insert-object stage (the
        point's pixel in the source image as --at-pixel). Returns the object's name."""
        from shotsmith.stages import insert_object as object_stage

        if self.cache is None:
            raise InputError("no 3D cache to place an object in; add the photo first (shotsmith view PHOTO)")
        if not object_path or not Path(object_path).is_file():
            raise InputError(
                f"object file {object_path!r}: no such file; give a mesh or point cloud (.ply .obj .glb)"
            )
        info = self.cache.info
        uv = source_pixel(point, info.world_from_camera_array, info.intrinsics_array)
        if uv is None or not (0 <= uv[0] < info.width and 0 <= uv[1] < info.height):
            raise InputError(
                "that point is not seen by the source camera; click a point of the photo's cloud"
            )
        cfg = object_stage.Config(
            object_path=str(object_path),
            at_pixel=(float(uv[0]), float(uv[1])),
            height=height,
            mode=mode,
            name=name,
        )
        with self._writing(), self.lock:
            execute(self.ws, object_stage.STAGE, cfg)
            self._load_objects()
            self._scene = None
            self._seen[W.OBJECTS_JSON] = self._hash(W.OBJECTS_JSON)
            placed = self.objects[-1]["name"] if self.objects else (name or Path(object_path).stem)
            self.notice = f"placed {placed} at pixel {uv[0]:.0f},{uv[1]:.0f}"
            self._changed()
            return placed

    def remove_object(self, name: str) -> None:
        from shotsmith.stages import insert_object as object_stage

        with self._writing(), self.lock:
            execute(self.ws, object_stage.STAGE, object_stage.Config(remove=name))
            self._load_objects()
            self._scene = None
            self._seen[W.OBJECTS_JSON] = self._hash(W.OBJECTS_JSON)
            self.notice = f"removed {name}"
            self._changed()

    def choose_rig(self, spec: str | None) -> None:
        """Record the rig "Render shot" uses (None: one camera) in shot.json's request, after checking it."""
        spec = (spec or "").strip() or None
        if spec is not None:
            from shotsmith.rigs import load_rig

            load_rig(spec)
        with self._writing(), self.lock:
            self.ws.update_request(rig=spec)
            self.rig = spec
            self.notice = f"rig: {spec}" if spec else "one camera (no rig)"
            self._changed()

    def rig_paths(self) -> dict[str, CameraPath]:
        """Every camera of the chosen rig along the draft path ({} without a rig or a path)."""
        cam = self.try_path()
        if not self.rig or cam is None:
            return {}
        from shotsmith.rigs import load_rig, rig_paths

        try:
            return rig_paths(load_rig(self.rig), cam)
        except ShotsmithError as exc:
            self.notice = f"rig {self.rig}: {one_line(exc)}"
            return {}

    # -- preview ---------------------------------------------------------------------------------------------
    def scene(self):
        """The renderer's scene (render-guidance's `load_scene`: the cache with the placed objects), cached."""
        if self._scene is None:
            from shotsmith.stages.render_guidance import load_scene

            self._scene = load_scene(self.ws)
        return self._scene

    def preview(self, k: int, cam: CameraPath | None = None) -> np.ndarray:
        """(H, W, 3) uint8: frame k of the draft path through the project's renderer (the guidance image).
        Frames of the current path and scene are kept (`PREVIEW_CACHE_FRAMES`), so a replay or a scrub back
        shows them at once; `prefetch` renders them ahead."""
        from shotsmith.stages.render_guidance import Config, render_camera

        cam = cam or self.path()
        if cam is None:
            raise InputError("no path to preview")
        if self.cache is None:
            return np.zeros((cam.height, cam.width, 3), np.uint8)
        k = min(max(int(k), 0), len(cam) - 1)
        scene = self.scene()
        with self._preview_lock:
            if self._preview_for is not cam or self._preview_scene is not scene:
                self._preview_for, self._preview_scene, self._preview_frames = cam, scene, {}
            hit = self._preview_frames.get(k)
        if hit is not None:
            return hit
        video, _ = render_camera(scene, cam.select(slice(k, k + 1)), Config())
        rgb = video.rgb[0]
        with self._preview_lock:
            if self._preview_for is cam and len(self._preview_frames) < PREVIEW_CACHE_FRAMES:
                self._preview_frames[k] = rgb
        return rgb

    def preview_cached(self, cam: CameraPath) -> int:
        """How many frames of `cam` the preview holds."""
        with self._preview_lock:
            return len(self._preview_frames) if self._preview_for is cam else 0

    def prefetch(self, start: int = 0) -> threading.Thread | None:
        """Render the draft path's frames ahead in the background (from `start`, then wrapping round), until
        the path changes; None when there is nothing to render or a prefetch already runs."""
        cam = self.try_path()
        if cam is None or self.cache is None:
            return None
        if self._prefetch is not None and self._prefetch.is_alive() and self._prefetch_for is cam:
            return None

        def work() -> None:
            n = len(cam)
            for i in range(min(n, PREVIEW_CACHE_FRAMES)):
                if self._path is not cam:  # edited meanwhile: stop, a new prefetch follows the new path
                    return
                try:
                    self.preview((start + i) % n, cam)
                except ShotsmithError:
                    return

        self._prefetch_for = cam
        self._prefetch = threading.Thread(target=work, daemon=True, name="viewer-prefetch")
        self._prefetch.start()
        return self._prefetch

    # -- render shot -----------------------------------------------------------------------------------------
    def start_render(self, generator: str = "auto", prompt: str | None = None) -> RenderJob:
        """Save-state render in the background: caption, render-guidance (and the rig), generate."""
        if self.job is not None and self.job.running:
            raise ViewerBusy("a render is already running")
        if self.unsaved:
            raise InputError("the path has unsaved edits; press Save first so the shot renders what you see")
        if self.cache is None:
            raise InputError("no 3D cache to render; add the photo first (shotsmith view PHOTO)")
        from shotsmith.stages import generate as generate_stage

        generate_stage.Config(generator=generator).validate()  # type: ignore[arg-type]
        if not self.write_lock.acquire(blocking=False):
            raise ViewerBusy("the workspace is busy (a save is running); try again in a moment")
        job = RenderJob(steps=["caption", "render-guidance", "generate"])
        self.job = job

        def work() -> None:
            try:
                self._render(job, generator, prompt)
            except BaseException as exc:  # shown in the page: the thread must not die silently
                job.error = one_line(exc)
            finally:
                job.finished = time.time()
                self.write_lock.release()
                self.version += 1

        job.thread = threading.Thread(target=work, name="shotsmith-render", daemon=True)
        job.thread.start()
        return job

    def _render(self, job: RenderJob, generator: str, prompt: str | None) -> None:
        from shotsmith.stages import caption as caption_stage
        from shotsmith.stages import generate as generate_stage
        from shotsmith.stages import render_guidance as render_stage

        if prompt:
            self.ws.update_request(prompt=prompt)
        runs = [
            ("caption", caption_stage.STAGE, caption_stage.Config()),
            ("render-guidance", render_stage.STAGE, render_stage.Config(rig=self.rig)),
            ("generate", generate_stage.STAGE, generate_stage.Config(generator=generator, rig=self.rig)),
        ]
        for name, stage, cfg in runs:
            job.current = name
            self.version += 1
            execute(self.ws, stage, cfg)
            job.done += 1
        job.current = "done"
        job.output = self.ws.path(W.OUTPUT_GRID if self.rig else W.OUTPUT_VIDEO)
