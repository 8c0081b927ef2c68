"""The viser glue of `shotsmith view`: the 3D scene and the panel of one `ViewerSession`, and their callbacks.

Everything is added to the server (not to a client), so every tab shows the same scene and panel and an edit in
one tab appears in the others; only the browser camera is per tab. The callbacks only translate widget values
into `ViewerSession` calls (which do the work and the writing) and then redraw; a watcher thread redraws when the
session changed (another tab, another process writing the workspace, the render job's progress).

Scene (OpenCV axes, the source camera is the world's origin, up is -y): the cache's point cloud (a subsample),
the source camera as a frustum textured with the photo, the subject 1.0 ahead of it, the path as a line and one
frustum per frame coloured by time (blue at the start to red at the end), the keyframes (yellow; the selected one
white, with a gizmo), the rig's cameras (magenta) and the placed objects' points.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from shotsmith.camera import CameraPath
from shotsmith.console import console
from shotsmith.errors import ShotsmithError
from shotsmith.viewer import keyframes as K
from shotsmith.viewer.points import bounds, object_point_size, pick, subsample
from shotsmith.viewer.session import ViewerSession, one_line

#: Most per-frame frustums drawn (evenly spaced beyond that).
MAX_FRAME_FRUSTUMS = 121
#: Most points drawn of a placed object (a densely sampled mesh would cost the browser more than the cloud).
MAX_OBJECT_POINTS = 20_000
EASES = ("preset's own", "linear", "ease_in", "ease_out", "ease_in_out", "exponential")
#: Amount slider (min, max, step) by preset unit.
AMOUNT_RANGES = {
    "degrees": (0.0, 180.0, 1.0),
    "scene units": (0.0, 2.0, 0.01),
    "x focal": (1.0, 4.0, 0.05),
    "strength": (0.0, 3.0, 0.1),
}
EXPORTS = {
    "GEN3C GUI path (cam.json)": ("gen3c_path", "cam.json"),
    "GEN3C export cameras (cam_export.json)": ("gen3c_cameras", "cam_export.json"),
    "nerfstudio camera_path.json": ("camera_path", "camera_path.json"),
    "trajectory.json (transforms)": ("transforms", "trajectory.json"),
    "RealEstate10K txt": ("re10k", "trajectory.txt"),
    "ReCamMaster camera_extrinsics.json": ("recammaster", "camera_extrinsics.json"),
}


def wxyz_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """viser's (w, x, y, z) quaternion of a rotation matrix (scipy gives x, y, z, w)."""
    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return np.array([w, x, y, z])


def matrix_from_wxyz(wxyz) -> np.ndarray:
    w, x, y, z = (float(v) for v in wxyz)
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def pose_of_camera(camera) -> np.ndarray:
    """(4, 4) world_from_camera of a viser client camera (viser's cameras use OpenCV axes, as ours)."""
    m = np.eye(4)
    m[:3, :3] = matrix_from_wxyz(camera.wxyz)
    m[:3, 3] = np.asarray(camera.position, dtype=np.float64)
    return m


def look_through(camera, cam: CameraPath, k: int) -> None:
    """Put a viser client camera at frame k of a path: position, a point ahead on its axis, its up (-y), fov."""
    m = cam.world_from_camera[k]
    with camera.client.atomic():
        camera.position = tuple(m[:3, 3])
        camera.look_at = tuple(m[:3, 3] + m[:3, 2])
        camera.up_direction = tuple(-m[:3, 1])
        camera.fov = frame_fov_rad(cam, k)


def frame_fov_rad(cam: CameraPath, k: int) -> float:
    return float(np.radians(K.vertical_fov(cam, k)))


def export_bytes(cam: CameraPath, fmt: str, filename: str) -> bytes:
    """The draft path as a file of format `fmt` (the formats package, GEN3C's GUI files from gen3c_gui)."""
    import tempfile

    from shotsmith.formats import gen3c_gui, write_camera_file

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / filename
        if fmt == "gen3c_path":
            gen3c_gui.write_gen3c_path(out, cam)
        elif fmt == "gen3c_cameras":
            gen3c_gui.write_gen3c_cameras(out, cam)
        else:
            write_camera_file(out, cam, fmt)
        return out.read_bytes()


def read_camera_any(path: Path) -> CameraPath:
    """A camera file of any format `shotsmith convert` reads, GEN3C's GUI files included."""
    from shotsmith.formats import gen3c_gui, read_camera_file
    from shotsmith.formats._io import load_json

    if path.suffix.lower() == ".json":
        data = load_json(path)
        if gen3c_gui.looks_like_path(data):
            return gen3c_gui.read_gen3c_path(path)
        if gen3c_gui.looks_like_cameras(data):
            return gen3c_gui.read_gen3c_cameras(path)
    return read_camera_file(path)


class ViewerApp:
    """The scene, panel and callbacks of one session on one viser server (module docstring)."""

    def __init__(self, session: ViewerSession, server, poll_seconds: float = 0.5) -> None:
        self.session = session
        self.server = server
        self.scene = server.scene
        self.gui = server.gui
        self.selected: int | None = None
        self.looking = False
        self.playing = False
        self.frame = 0
        self.preview_fps = 0.0
        self._drawn_version = -1
        self._cloud_key = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._place_armed = False
        self._gizmo = None
        self._gizmo_key: int | None = None
        self._nodes: dict[str, list] = {"path": [], "keys": [], "rig": [], "objects": []}
        self._last_error = ""
        self._job_seen = None
        self.scene.set_up_direction("-y")
        self._initial_camera()
        self._build_panel()
        self.redraw(force=True)
        self._watcher = threading.Thread(
            target=self._watch, args=(poll_seconds,), daemon=True, name="viewer-watch"
        )
        self._watcher.start()
        server.on_client_connect(self._on_connect)

    # -- panel -----------------------------------------------------------------------------------------------
    def _build_panel(self) -> None:
        from shotsmith.presets import list_presets
        from shotsmith.rigs import rig_names

        gui, s = self.gui, self.session
        self.presets = {p.name: p for p in list_presets(include_compat=False)}
        gui.set_panel_label("shotsmith")
        self.status = gui.add_markdown("")
        self.errors = gui.add_markdown("")
        with gui.add_folder("Shot"):
            self.frames = gui.add_slider("Frames", 2, 241, 1, int(s.draft.frames))
            self.fps = gui.add_slider("FPS", 1.0, 60.0, 1.0, float(s.draft.fps))
            self.save_btn = gui.add_button(
                "Save", color="green", hint="write trajectory.json through plan-trajectory"
            )
            self.reload_btn = gui.add_button("Reload", hint="read trajectory.json and the cache again")
        with gui.add_folder("Preset"):
            self.preset = gui.add_dropdown("Preset", tuple(self.presets), initial_value=s.draft.preset)
            self.amount = gui.add_slider("Amount", 0.0, 2.0, 0.01, 0.35)
            self.ease = gui.add_dropdown("Ease", EASES, initial_value=EASES[0])
        with gui.add_folder("Words"):
            self.words = gui.add_text("Camera words", s.draft.text or "slowly push in, then pan left")
            self.plan_btn = gui.add_button("Plan from words")
        with gui.add_folder("Keyframes"):
            self.add_key_btn = gui.add_button("Add keyframe (current view)")
            self.from_plan_btn = gui.add_button("Keyframes from plan")
            self.key_pick = gui.add_dropdown("Keyframe", ("none",), initial_value="none")
            self.key_pos = gui.add_vector3("Position", (0.0, 0.0, 0.0), step=0.01)
            self.key_fov = gui.add_slider("Vertical FOV", 5.0, 120.0, 0.5, 40.0)
            self.key_time = gui.add_slider("Time", 0.0, 1.0, 0.01, 0.0)
            self.del_key_btn = gui.add_button("Delete keyframe", color="red")
            self.even_btn = gui.add_button("Even times")
            self.clear_keys_btn = gui.add_button("Clear keyframes")
        with gui.add_folder("Preview"):
            self.look = gui.add_checkbox("Look through camera", False)
            self.scrub = gui.add_slider("Frame", 0, max(int(s.draft.frames) - 1, 1), 1, 0)
            self.play_btn = gui.add_button("Play")
            self.preview = gui.add_image(np.zeros((48, 84, 3), np.uint8), label="renderer", format="jpeg")
            self.preview_info = gui.add_markdown("")
        with gui.add_folder("Objects", expand_by_default=False):
            self.obj_file = gui.add_text("Object file", _default_object())
            self.obj_height = gui.add_number("Height", 0.25, min=0.01, max=10.0, step=0.01)
            self.obj_mode = gui.add_dropdown("Mode", ("layered", "fused"), initial_value="layered")
            self.place_btn = gui.add_button("Place by clicking a point")
            self.obj_pick = gui.add_dropdown("Placed", ("none",), initial_value="none")
            self.obj_remove = gui.add_button("Remove object")
        with gui.add_folder("Rig", expand_by_default=False):
            self.rig_pick = gui.add_dropdown("Rig", ("none", *rig_names()), initial_value="none")
            self.rig_params = gui.add_text("Parameters", "")
            self.rig_btn = gui.add_button("Use rig")
        with gui.add_folder("Render"):
            self.prompt = gui.add_text("Prompt", "")
            self.generator = gui.add_dropdown(
                "Generator", ("auto", "inpaint", "wan", "cogvideox"), initial_value="auto"
            )
            self.render_btn = gui.add_button("Render shot", color="blue")
            self.progress = gui.add_progress_bar(0.0, visible=False)
            self.render_info = gui.add_markdown("")
            self.download_btn = gui.add_button("Download shot.mp4", visible=False)
        with gui.add_folder("Import / export", expand_by_default=False):
            self.export_fmt = gui.add_dropdown("Format", tuple(EXPORTS), initial_value=tuple(EXPORTS)[0])
            self.export_btn = gui.add_button("Export path")
            self.import_btn = gui.add_upload_button("Import camera file")

        self.frames.on_update(self._guard(lambda e: s.set_shot(frames=int(self.frames.value))))
        self.fps.on_update(self._guard(lambda e: s.set_shot(fps=float(self.fps.value))))
        self.save_btn.on_click(self._guard(lambda e: self._save()))
        self.reload_btn.on_click(self._guard(lambda e: s.reload()))
        self.preset.on_update(self._guard(self._on_preset))
        self.amount.on_update(self._guard(lambda e: self._apply_preset()))
        self.ease.on_update(self._guard(lambda e: self._apply_preset()))
        self.plan_btn.on_click(self._guard(lambda e: s.set_text(self.words.value)))
        self.add_key_btn.on_click(self._guard(self._on_add_key))
        self.from_plan_btn.on_click(self._guard(lambda e: self._from_plan()))
        self.key_pick.on_update(self._guard(self._on_pick_key))
        self.key_pos.on_update(self._guard(self._on_key_pos))
        self.key_fov.on_update(self._guard(lambda e: self._on_key_value(fov=float(self.key_fov.value))))
        self.key_time.on_update(self._guard(lambda e: self._on_key_value(time=float(self.key_time.value))))
        self.del_key_btn.on_click(self._guard(lambda e: self._delete_key()))
        self.even_btn.on_click(self._guard(lambda e: s.even_times()))
        self.clear_keys_btn.on_click(self._guard(lambda e: self._clear_keys()))
        self.look.on_update(self._guard(lambda e: self._set_looking(bool(self.look.value))))
        self.scrub.on_update(self._guard(lambda e: self._on_scrub(int(self.scrub.value))))
        self.play_btn.on_click(self._guard(lambda e: self._toggle_play()))
        self.place_btn.on_click(self._guard(lambda e: self._arm_place()))
        self.obj_remove.on_click(self._guard(lambda e: self._remove_object()))
        self.rig_btn.on_click(self._guard(lambda e: self._use_rig()))
        self.render_btn.on_click(self._guard(lambda e: self._render()))
        self.download_btn.on_click(self._guard(self._download))
        self.export_btn.on_click(self._guard(self._export))
        self.import_btn.on_upload(self._guard(self._import))

    def _guard(self, fn):
        """A callback that ignores programmatic updates (no client), shows errors as the notice, and redraws."""

        def cb(event) -> None:
            if getattr(event, "client", None) is None:
                return
            try:
                fn(event)
            except ShotsmithError as exc:
                self.session.notice = one_line(exc)
            except Exception as exc:  # a bug: say it in the page and on the console, keep serving
                self.session.notice = f"internal error: {type(exc).__name__}: {one_line(exc)}"
                console.print_exception()
            self.redraw(force=True)

        return cb

    # -- callbacks -------------------------------------------------------------------------------------------
    def _save(self) -> None:
        self.session.save()

    def _on_preset(self, event) -> None:
        p = self.presets[self.preset.value]
        lo, hi, step = AMOUNT_RANGES.get(p.unit, (0.0, 2.0, 0.01))
        amount = p.amount if p.amount is not None else lo
        self.amount.min, self.amount.max, self.amount.step = lo, hi, step
        self.amount.value = float(min(max(amount, lo), hi))
        self._apply_preset()

    def _apply_preset(self) -> None:
        p = self.presets[self.preset.value]
        ease = None if self.ease.value == EASES[0] else self.ease.value
        amount = None if p.amount is None else float(self.amount.value)
        self.session.set_preset(p.name, amount=amount, ease=ease)
        self.selected = None

    def _on_add_key(self, event) -> None:
        # Not selected: its gizmo would sit at the eye of the view it was taken from. Pick it in the list (or
        # click its frustum) to edit it.
        self.session.add_keyframe(pose_of_camera(event.client.camera))

    def _from_plan(self) -> None:
        self.session.keyframes_from_plan(3)
        self.selected = self.session.draft.keyframes[0].id if self.session.draft.keyframes else None

    def _on_pick_key(self, event) -> None:
        v = self.key_pick.value
        self.selected = None if v == "none" else int(v.split()[1])

    def _on_key_pos(self, event) -> None:
        if self.selected is not None:
            self.session.move_keyframe(
                self.selected, position=np.asarray(self.key_pos.value, dtype=np.float64)
            )

    def _on_key_value(self, fov=None, time=None) -> None:
        if self.selected is not None:
            self.session.set_keyframe(self.selected, fov=fov, time=time)

    def _delete_key(self) -> None:
        if self.selected is not None:
            self.session.delete_keyframe(self.selected)
            keys = self.session.draft.keyframes
            self.selected = keys[-1].id if keys else None

    def _clear_keys(self) -> None:
        self.session.clear_keyframes()
        self.selected = None
        self._apply_preset()

    def _on_gizmo(self, event) -> None:
        if event.client is None or self._gizmo_key is None:
            return
        try:
            self.session.move_keyframe(
                self._gizmo_key,
                position=np.asarray(event.target.position, dtype=np.float64),
                rotation=matrix_from_wxyz(event.target.wxyz),
            )
        except ShotsmithError as exc:
            self.session.notice = one_line(exc)
        if getattr(event, "phase", "end") == "end":
            self.redraw(force=True)

    def _on_key_click(self, key_id: int):
        def cb(event) -> None:
            self.selected = key_id
            self.redraw(force=True)

        return cb

    def _set_looking(self, on: bool) -> None:
        self.looking = on
        if on:
            self._show_frame(self.frame)
            self.session.prefetch(self.frame)
        else:
            self.playing = False
            self._set_frustums_visible(True)

    def _on_scrub(self, k: int) -> None:
        self._show_frame(k)
        self.session.prefetch(k)

    def _toggle_play(self) -> None:
        if self.playing:
            self.playing = False
            return
        self.playing = True
        self.session.prefetch(self.frame)
        threading.Thread(target=self._play, daemon=True, name="viewer-play").start()

    def _play(self) -> None:
        cam = self.session.try_path()
        if cam is None:
            self.playing = False
            return
        shown, t0 = 0, time.perf_counter()
        k = self.frame if self.frame < len(cam) - 1 else 0
        while self.playing and not self._stop.is_set():
            start = time.perf_counter()
            self.scrub.value = k  # programmatic: the guard ignores it
            self._show_frame(k)
            shown += 1
            self.preview_fps = shown / max(time.perf_counter() - t0, 1e-6)
            if k >= len(cam) - 1:
                break
            # Real time: skip the frames a slow render could not show in time.
            spent = time.perf_counter() - start
            k = min(len(cam) - 1, k + max(1, int(spent * cam.fps)))
            time.sleep(max(0.0, 1.0 / cam.fps - spent))
        self.playing = False
        self.redraw(force=True)

    def _show_frame(self, k: int) -> None:
        """Frame k: the renderer's image in the panel and, when looking through, every tab's camera there."""
        cam = self.session.try_path()
        if cam is None:
            return
        k = min(max(int(k), 0), len(cam) - 1)
        self.frame = k
        t0 = time.perf_counter()
        try:
            rgb = self.session.preview(k, cam)
        except ShotsmithError as exc:
            self.session.notice = one_line(exc)
            return
        self.preview.image = rgb
        ms = (time.perf_counter() - t0) * 1000
        fps = f", playing at {self.preview_fps:.1f} fps" if self.playing else ""
        held = self.session.preview_cached(cam)
        self.preview_info.content = (
            f"frame {k} / {len(cam) - 1}: {rgb.shape[1]}x{rgb.shape[0]} in {ms:.0f} ms{fps} "
            f"({held}/{len(cam)} frames rendered)"
        )
        if self.looking:
            for client in self.server.get_clients().values():
                look_through(client.camera, cam, k)
            self._set_frustums_visible(False)

    def _arm_place(self) -> None:
        if self.session.cache is None:
            self.session.notice = "no 3D cache: add the photo first (shotsmith view PHOTO -w WS)"
            return
        self._place_armed = True
        self.session.notice = "click a point of the cloud to place the object there"

        @self.scene.on_click()
        def _(event) -> None:
            self.scene.remove_click_callback("all")
            self._place_armed = False
            try:
                self._place_at_ray(event.ray_origin, event.ray_direction)
            except ShotsmithError as exc:
                self.session.notice = one_line(exc)
            self.redraw(force=True)

    def _place_at_ray(self, origin, direction) -> None:
        cache = self.session.cache
        idx = pick(cache.points, origin, direction)
        if idx is None:
            raise ShotsmithError("no cloud point under the click; click on the photo's points")
        self.session.place_object(
            cache.points[idx],
            self.obj_file.value,
            height=float(self.obj_height.value),
            mode=self.obj_mode.value,
        )

    def _remove_object(self) -> None:
        if self.obj_pick.value != "none":
            self.session.remove_object(self.obj_pick.value)

    def _use_rig(self) -> None:
        name = self.rig_pick.value
        spec = (
            None
            if name == "none"
            else name + (f":{self.rig_params.value.strip()}" if self.rig_params.value.strip() else "")
        )
        self.session.choose_rig(spec)

    def _render(self) -> None:
        self.session.start_render(self.generator.value, prompt=self.prompt.value.strip() or None)
        self.download_btn.visible = False

    def _download(self, event) -> None:
        job = self.session.job
        if job is None or job.output is None or not job.output.exists():
            raise ShotsmithError("no rendered shot yet; press Render shot")
        event.client.send_file_download(job.output.name, job.output.read_bytes())

    def _export(self, event) -> None:
        cam = self.session.path()
        if cam is None:
            raise ShotsmithError("no path to export")
        fmt, filename = EXPORTS[self.export_fmt.value]
        event.client.send_file_download(filename, export_bytes(cam, fmt, filename))

    def _import(self, event) -> None:
        import tempfile

        up = self.import_btn.value
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.content)
            cam = read_camera_any(path)
        self.session.import_path(cam)

    def _initial_camera(self) -> None:
        """New tabs open behind and above the source camera, looking at the scene (viser's initial camera)."""
        centre, radius = bounds(self.session.cache.points if self.session.cache else np.zeros((0, 3)))
        init = self.server.initial_camera
        init.position = (0.0, -0.35 * radius, -1.2 * radius - 0.5)
        init.look_at = tuple(float(v) for v in centre)
        init.up = (0.0, -1.0, 0.0)

    def _on_connect(self, client) -> None:
        """A new tab while looking through the camera: put it there too."""
        if self.looking:
            cam = self.session.try_path()
            if cam is not None:
                look_through(client.camera, cam, min(self.frame, len(cam) - 1))

    # -- drawing ---------------------------------------------------------------------------------------------
    def _watch(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.session.poll()
                self.redraw()
            except Exception:  # keep watching; the console shows what went wrong
                console.print_exception()

    def stop(self) -> None:
        self._stop.set()
        self.playing = False

    def redraw(self, force: bool = False) -> None:
        """Bring the scene and the panel up to the session's state (a no-op when nothing changed)."""
        with self._lock:
            s = self.session
            job = s.job
            job_state = None if job is None else (job.done, job.current, job.error, job.output)
            if not force and s.version == self._drawn_version and job_state == self._job_seen:
                return
            self._drawn_version, self._job_seen = s.version, job_state
            self._draw_cloud()
            cam = s.try_path()
            self._draw_path(cam)
            self._draw_keys()
            self._draw_rig()
            self._draw_objects()
            self._sync_panel(cam)
            if self.looking:
                self._set_frustums_visible(False)

    def _remove(self, group: str) -> None:
        for h in self._nodes[group]:
            h.remove()
        self._nodes[group] = []

    def _draw_cloud(self) -> None:
        cache = self.session.cache
        key = None if cache is None else id(cache)
        if key == self._cloud_key:
            return
        self._cloud_key = key
        self._initial_camera()
        for name in ("/cloud", "/source", "/subject"):
            self.scene.remove_by_name(name)
        if cache is not None:
            info = cache.info
            self.scene.add_point_cloud(
                "/cloud",
                cache.points,
                cache.colors,
                point_size=cache.point_size,
                point_shape="square",
                point_shading="flat",
            )
            m = info.world_from_camera_array
            image = cache.image
            step = max(1, int(np.ceil(max(image.shape[:2]) / 512)))
            self.scene.add_camera_frustum(
                "/source",
                fov=float(2 * np.arctan(0.5 * info.height / info.intrinsics[1])),
                aspect=info.width / info.height,
                scale=0.15,
                thickness=2.0,
                thickness_units="screen",
                color=(255, 255, 255),
                image=np.ascontiguousarray(image[::step, ::step]),
                wxyz=wxyz_from_matrix(m[:3, :3]),
                position=m[:3, 3],
            )
            subject = m[:3, :3] @ np.array([0.0, 0.0, 1.0]) + m[:3, 3]
        else:
            subject = np.array([0.0, 0.0, 1.0])
            self.scene.add_camera_frustum(
                "/source", fov=0.8, aspect=832 / 480, scale=0.15, color=(255, 255, 255)
            )
        self.scene.add_icosphere("/subject", radius=0.02, color=(255, 60, 60), position=tuple(subject))

    def _draw_path(self, cam: CameraPath | None) -> None:
        self._remove("path")
        if cam is None:
            return
        n = len(cam)
        centers = cam.centers
        if n > 1:
            seg = np.stack([centers[:-1], centers[1:]], axis=1)
            cols = np.array([K.time_color(t) for t in K.frame_times(n)], dtype=np.uint8)
            seg_cols = np.stack([cols[:-1], cols[1:]], axis=1)
            self._nodes["path"].append(
                self.scene.add_line_segments(
                    "/path/line", seg, seg_cols, thickness=3.0, thickness_units="screen"
                )
            )
        shown = np.unique(np.round(np.linspace(0, n - 1, min(n, MAX_FRAME_FRUSTUMS))).astype(int))
        aspect = cam.width / cam.height
        for k in shown:
            m = cam.world_from_camera[k]
            self._nodes["path"].append(
                self.scene.add_camera_frustum(
                    f"/path/frame_{k:04d}",
                    fov=frame_fov_rad(cam, int(k)),
                    aspect=aspect,
                    scale=0.05,
                    thickness=1.0,
                    thickness_units="screen",
                    color=K.time_color(k / max(n - 1, 1)),
                    wxyz=wxyz_from_matrix(m[:3, :3]),
                    position=m[:3, 3],
                )
            )

    def _draw_keys(self) -> None:
        s = self.session
        keys = s.draft.keyframes if s.draft.mode == "keyframes" else []
        ids = [k.id for k in keys]
        if self.selected not in ids:
            self.selected = None
        self._remove("keys")
        w, h = s.size
        for k in keys:
            sel = k.id == self.selected
            handle = self.scene.add_camera_frustum(
                f"/keys/key_{k.id}",
                fov=float(np.radians(k.fov)),
                aspect=w / h,
                scale=0.1,
                thickness=3.0 if sel else 2.0,
                thickness_units="screen",
                color=(255, 255, 255) if sel else (250, 210, 30),
                wxyz=wxyz_from_matrix(k.rotation),
                position=k.position,
            )
            handle.on_click(self._on_key_click(k.id))
            self._nodes["keys"].append(handle)
        # The gizmo follows the selected keyframe; it is only re-created when the selection changes, so a drag in
        # progress is not interrupted by the redraws its own updates cause.
        if self.selected is None:
            if self._gizmo is not None:
                self._gizmo.remove()
            self._gizmo, self._gizmo_key = None, None
            return
        key = s.keyframe(self.selected)
        if self._gizmo is None or self._gizmo_key != key.id:
            if self._gizmo is not None:
                self._gizmo.remove()
            self._gizmo = self.scene.add_transform_controls(
                "/gizmo", scale=0.25, wxyz=wxyz_from_matrix(key.rotation), position=key.position
            )
            self._gizmo.on_update(self._on_gizmo)
            self._gizmo_key = key.id
        else:
            if not np.allclose(self._gizmo.position, key.position, atol=1e-6):
                self._gizmo.position = key.position
            if not np.allclose(matrix_from_wxyz(self._gizmo.wxyz), key.rotation, atol=1e-6):
                self._gizmo.wxyz = wxyz_from_matrix(key.rotation)

    def _draw_rig(self) -> None:
        self._remove("rig")
        paths = self.session.rig_paths()
        for name, cam in paths.items():
            m = cam.world_from_camera[0]
            self._nodes["rig"].append(
                self.scene.add_camera_frustum(
                    f"/rig/{name}",
                    fov=frame_fov_rad(cam, 0),
                    aspect=cam.width / cam.height,
                    scale=0.08,
                    thickness=2.0,
                    thickness_units="screen",
                    color=(230, 60, 230),
                    wxyz=wxyz_from_matrix(m[:3, :3]),
                    position=m[:3, 3],
                )
            )
            if len(cam) > 1:
                c = cam.centers
                self._nodes["rig"].append(
                    self.scene.add_line_segments(
                        f"/rig/{name}_path",
                        np.stack([c[:-1], c[1:]], axis=1),
                        (230, 60, 230),
                        thickness=1.5,
                        thickness_units="screen",
                    )
                )

    def _draw_objects(self) -> None:
        self._remove("objects")
        for name, pts, cols in self.session.object_points:
            sub, subc, _ = subsample(pts, cols, MAX_OBJECT_POINTS)
            self._nodes["objects"].append(
                self.scene.add_point_cloud(
                    f"/objects/{name}", sub, subc, point_size=object_point_size(sub), point_shading="flat"
                )
            )

    def _set_frustums_visible(self, visible: bool) -> None:
        for group in ("path", "keys", "rig"):
            for h in self._nodes[group]:
                h.visible = visible
        if self._gizmo is not None:
            self._gizmo.visible = visible
        node = self.scene._handle_from_node_name.get("/source")  # noqa: SLF001 - viser keeps no public lookup
        if node is not None:
            node.visible = visible

    def _sync_panel(self, cam: CameraPath | None) -> None:
        s = self.session
        d = s.draft
        ws = s.ws.root
        if s.cache is not None:
            cloud = f"{len(s.cache.points):,} of {s.cache.total:,} cache points shown"
        else:
            cloud = f"no 3D cache: the path alone. Add the photo: `shotsmith view PHOTO -w {ws}`"
        what = {
            "preset": f"preset {d.preset}",
            "text": f'words "{d.text}"',
            "keyframes": f"{len(d.keyframes)} keyframes",
            "saved": "trajectory.json",
        }[d.mode]
        frames = (
            f"{len(cam)} frames at {cam.fps:g} fps, {cam.width}x{cam.height}"
            if cam is not None
            else "no path"
        )
        state = "unsaved changes" if s.unsaved else "saved"
        lines = [f"**{ws}**", f"{cloud}", f"path: {what}, {frames} ({state})"]
        if s.rig:
            lines.append(f"rig: {s.rig}")
        if s.notice:
            lines.append(f"_{s.notice}_")
        self.status.content = "  \n".join(lines)
        err = s.error
        self.errors.content = "  \n".join(f"**error:** {e}" for e in err.splitlines()) if err else ""
        if err and err != self._last_error:
            for e in err.splitlines():
                console.print(f"[red]error:[/red] {e}", markup=True, soft_wrap=True)
        self._last_error = err
        self.frames.value = int(min(max(d.frames, 2), 241))
        self.fps.value = float(min(max(d.fps, 1.0), 60.0))
        if d.mode == "preset" and d.preset in self.presets and self.preset.value != d.preset:
            self.preset.value = d.preset
        keys = sorted(d.keyframes, key=lambda k: k.time) if d.mode == "keyframes" else []
        labels = ("none", *[f"key {k.id} (t={k.time:.2f})" for k in keys])
        self.key_pick.options = labels
        current = next(
            (lab for lab, k in zip(labels[1:], keys, strict=True) if k.id == self.selected), "none"
        )
        self.key_pick.value = current
        if self.selected is not None:
            k = s.keyframe(self.selected)
            self.key_pos.value = tuple(float(v) for v in k.position)
            self.key_fov.value = float(min(max(k.fov, 5.0), 120.0))
            self.key_time.value = float(k.time)
        if cam is not None:
            self.scrub.max = max(len(cam) - 1, 1)
        names = tuple(o["name"] for o in s.objects)
        self.obj_pick.options = ("none", *names)
        rig_name = s.rig.split(":")[0] if s.rig else "none"
        self.rig_pick.value = rig_name if rig_name in self.rig_pick.options else "none"
        job = s.job
        if job is not None:
            self.progress.visible = True
            self.progress.value = job.progress
            self.progress.animated = job.running
            self.render_info.content = job.line()
            self.download_btn.visible = job.output is not None and not job.running and not job.error
        self.render_btn.disabled = job is not None and job.running


def _default_object() -> str:
    """The repository's example object (assets/cone.ply) when shotsmith runs from a checkout, else ""."""
    here = Path(__file__).resolve().parents[3] / "assets" / "cone.ply"
    return str(here) if here.is_file() else ""
