"""The viewer without a browser: keyframe paths, point picking, trajectory.html, the session's edits (what they
write), the viser app's callbacks driven directly, `shotsmith view` on the command line, GEN3C's GUI files."""

from __future__ import annotations

import base64
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import workspace as W
from shotsmith.camera import CameraPath, default_intrinsics, look_at, make_pose
from shotsmith.errors import InputError, ShotsmithError
from shotsmith.formats import gen3c_gui, read_trajectory
from shotsmith.media import read_video, write_image
from shotsmith.stage import execute
from shotsmith.stages import build_cache
from shotsmith.viewer import keyframes as K
from shotsmith.viewer import points as P
from shotsmith.viewer.session import VIEWER_PATH, ViewerBusy, ViewerSession
from shotsmith.viewer.static import (
    MAX_HTML_POINTS,
    trajectory_html,
    trajectory_payload,
    write_trajectory_html,
)

SRC = Path(__file__).resolve().parents[1] / "src"
CONE = Path(__file__).resolve().parents[1] / "assets" / "cone.ply"


# ---------------------------------------------------------------------------------------------------------------
# Fixtures: a small photo's workspace with its cache (built once, copied per test)


def make_photo(path: Path) -> Path:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    img = np.clip(np.stack([x * 2, y * 2, x + y], -1) % 256 + rng.integers(0, 60, (96, 128, 3)), 0, 255)
    img = img.astype(np.uint8)
    img[50:90, 40:90] = [230, 60, 40]
    write_image(path, img)
    return path


@pytest.fixture(scope="module")
def cached_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewer")
    photo = make_photo(root / "photo.png")
    ws = W.Workspace(root / "ws")
    execute(ws, build_cache.STAGE, build_cache.Config(image=str(photo), depth="prior"))
    return ws.root


@pytest.fixture
def ws(cached_template, tmp_path):
    dest = tmp_path / "ws"
    shutil.copytree(cached_template, dest)
    return W.Workspace(dest)


def pose(x=0.0, y=0.0, z=0.0, yaw_deg=0.0) -> np.ndarray:
    return make_pose(Rotation.from_euler("y", yaw_deg, degrees=True).as_matrix(), [x, y, z])


def saved(ws) -> CameraPath:
    return read_trajectory(ws.path(W.TRAJECTORY))


def record(ws, stage="plan-trajectory") -> dict:
    return json.loads(ws.path(W.SHOT).read_text())["stages"][stage]


# ---------------------------------------------------------------------------------------------------------------
# Keyframes -> path


class TestKeyframes:
    def test_the_path_passes_through_every_keyframe_at_its_time(self):
        keys = [
            K.Keyframe(pose(0, 0, 0), 40.0, 0.0, 0),
            K.Keyframe(pose(0.3, -0.1, 0.2, 10), 50.0, 0.5, 1),
            K.Keyframe(pose(0.1, 0.0, 0.6, -15), 30.0, 1.0, 2),
        ]
        cam = K.path_from_keyframes(keys, 9, 8.0, 64, 48)
        assert len(cam) == 9 and cam.fps == 8.0 and (cam.width, cam.height) == (64, 48)
        for k, frame in zip(keys, (0, 4, 8), strict=True):
            np.testing.assert_allclose(cam.world_from_camera[frame], k.world_from_camera, atol=1e-9)
            assert K.vertical_fov(cam, frame) == pytest.approx(k.fov)
        np.testing.assert_allclose(cam.intrinsics[:, 2:], [[32.0, 24.0]] * 9)  # centred principal point
        assert [K.Keyframe.from_json(d).time for d in cam.meta[K.META_KEY]] == [0.0, 0.5, 1.0]
        back = K.keyframes_from_meta(cam)
        np.testing.assert_allclose(back[1].world_from_camera, keys[1].world_from_camera)

    def test_two_keyframes_are_a_straight_line_and_one_holds_still(self):
        keys = [K.Keyframe(pose(0, 0, 0), 40.0, 0.0), K.Keyframe(pose(0.4, 0, 0.4, 20), 40.0, 1.0, 1)]
        cam = K.path_from_keyframes(keys, 5, 16.0, 64, 48)
        np.testing.assert_allclose(cam.centers[2], [0.2, 0.0, 0.2], atol=1e-12)
        yaw = Rotation.from_matrix(cam.rotations[2]).as_euler("yxz", degrees=True)[0]
        assert yaw == pytest.approx(10.0)
        still = K.path_from_keyframes(keys[:1], 4, 16.0, 64, 48)
        assert np.allclose(still.world_from_camera, keys[0].world_from_camera)

    def test_times_outside_the_keyframes_hold_the_end_keyframes(self):
        keys = [K.Keyframe(pose(0, 0, 0), 40.0, 0.25), K.Keyframe(pose(0, 0, 1), 40.0, 0.75, 1)]
        cam = K.path_from_keyframes(keys, 5, 16.0, 64, 48)
        assert cam.centers[0, 2] == 0.0 and cam.centers[1, 2] == 0.0 and cam.centers[4, 2] == 1.0

    def test_bad_keyframes_are_named(self):
        keys = [K.Keyframe(pose(), 40.0, 0.5, 3), K.Keyframe(pose(0, 0, 1), 40.0, 0.5, 7)]
        with pytest.raises(InputError, match="keyframes 3 and 7 are both at time 0.500"):
            K.path_from_keyframes(keys, 5, 16.0, 64, 48)
        with pytest.raises(InputError, match="no keyframes"):
            K.path_from_keyframes([], 5, 16.0, 64, 48)
        with pytest.raises(InputError, match="between 0 and 180"):
            K.Keyframe(pose(), 190.0)
        spread = K.spread_times(keys)
        assert [k.time for k in spread] == [0.0, 1.0]

    def test_keyframes_from_a_path_take_its_first_and_last_frames(self):
        from shotsmith.presets import path_from_spec

        cam = path_from_spec("orbit_left", frames=21, width=64, height=48)
        keys = K.keyframes_from_path(cam, 3)
        assert [k.time for k in keys] == [0.0, 0.5, 1.0]
        np.testing.assert_allclose(keys[2].world_from_camera, cam.world_from_camera[20])
        again = K.path_from_keyframes(keys, 21, cam.fps, 64, 48)
        np.testing.assert_allclose(
            again.world_from_camera[[0, 10, 20]], cam.world_from_camera[[0, 10, 20]], atol=1e-9
        )


# ---------------------------------------------------------------------------------------------------------------
# Points


class TestPoints:
    def test_subsample_is_bounded_and_reproducible(self):
        pts = np.random.default_rng(0).normal(size=(10_000, 3)).astype(np.float32)
        cols = np.zeros((10_000, 3), np.uint8)
        a, _, ia = P.subsample(pts, cols, 1000)
        b, _, ib = P.subsample(pts, cols, 1000)
        assert len(a) == 1000 and (ia == ib).all() and (np.diff(ia) > 0).all()
        assert len(P.subsample(pts, cols, 20_000)[0]) == 10_000

    def test_pick_finds_the_nearest_surface_under_the_ray(self):
        front = np.array([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0]])
        back = np.array([[0.0, 0.0, 2.0]])
        pts = np.vstack([back, front])
        assert P.pick(pts, [0, 0, 0], [0, 0, 1]) == 1
        assert P.pick(pts, [0, 0, 0], [0, 1, 0]) is None
        assert P.pick(pts, [0.1, 0, -1], [0, 0, 1]) == 2

    def test_source_pixel_inverts_unprojection(self):
        intr = default_intrinsics(128, 96)
        u, v, z = 40.5, 70.5, 2.0
        x = np.array([(u - intr[2]) / intr[0] * z, (v - intr[3]) / intr[1] * z, z])
        assert P.source_pixel(x, np.eye(4), intr) == pytest.approx((u, v))
        assert P.source_pixel(-x, np.eye(4), intr) is None


# ---------------------------------------------------------------------------------------------------------------
# trajectory.html


class TestStaticHtml:
    def test_self_contained_page_with_the_path_and_the_cloud(self, tmp_path):
        from shotsmith.presets import path_from_spec

        cam = path_from_spec("dolly_in+pan_left", frames=17)
        pts = np.random.default_rng(0).uniform(-1, 1, (100_000, 3)).astype(np.float32) + [0, 0, 2]
        cols = np.full(pts.shape, 128, np.uint8)
        out = write_trajectory_html(tmp_path / "trajectory.html", cam, pts, cols)
        text = out.read_text()
        assert text.startswith("<!doctype html>") and "<canvas" in text
        assert "http://" not in text and "https://" not in text and "src=" not in text  # offline: no fetches
        assert out.stat().st_size < 1_500_000
        data = json.loads(text.split('type="application/json">')[1].split("</script>")[0])
        assert data["frames"] == 17 and data["points"] == MAX_HTML_POINTS
        centers = np.frombuffer(base64.b64decode(data["centers"]), np.float32).reshape(-1, 3)
        np.testing.assert_allclose(centers, cam.centers, atol=1e-6)
        assert data["label"] == "preset: dolly_in+pan_left"

    def test_without_a_cache_the_path_alone(self):
        cam = CameraPath(np.tile(np.eye(4), (3, 1, 1)), default_intrinsics(64, 48), 64, 48)
        data = trajectory_payload(cam)
        assert data["points"] == 0 and "xyz" not in data
        assert "no point cloud" in trajectory_html(cam)


# ---------------------------------------------------------------------------------------------------------------
# The session: every edit, and what it writes


class TestSession:
    def test_a_preset_saves_through_the_plan_stage(self, ws):
        s = ViewerSession(ws)
        assert (
            s.cache is not None
            and s.cache.total == s.cache.info.num_points > 9000
            and s.unsaved
            and s.error == ""
        )
        s.set_preset("pan_left", amount=30.0, ease="linear")
        s.set_shot(frames=17, fps=8)
        rec = s.save()
        cam = saved(ws)
        assert (
            len(cam) == 17 and cam.fps == 8 and cam.meta["preset"] == "pan_left" and cam.meta["amount"] == 30
        )
        yaw = Rotation.from_matrix(cam.rotations[-1]).as_euler("yxz", degrees=True)[0]
        assert yaw == pytest.approx(-30.0, abs=1e-6)  # pan left: about -y
        opts = record(ws)["options"]
        assert (opts["cam"], opts["amount"], opts["ease"], opts["frames"], opts["fps"]) == (
            "pan_left",
            30.0,
            "linear",
            17,
            8.0,
        )
        assert rec.status == "ok" and not s.unsaved
        assert s.save().finished == rec.finished and "no changes" in s.notice  # nothing new: nothing written
        # The same plan from the command line's code skips: the record is the CLI's.
        from shotsmith.stages import plan_trajectory as plan_stage

        again = execute(ws, plan_stage.STAGE, s.plan_config())
        assert again.extra.get("skipped")

    def test_text_plans_from_words(self, ws):
        s = ViewerSession(ws)
        s.set_text("slowly push in")
        s.set_shot(frames=9)
        s.save()
        assert saved(ws).centers[-1, 2] > 0.05 and record(ws)["options"]["camera"] == "slowly push in"
        s.set_text("   ")
        with pytest.raises(InputError, match="text box is empty"):
            s.save()

    def test_three_keyframes_save_as_a_path_file_and_reopen(self, ws):
        s = ViewerSession(ws)
        s.set_shot(frames=9, fps=8)
        a = s.add_keyframe(pose())
        b = s.add_keyframe(pose(0.2, 0, 0.3, 15))
        c = s.add_keyframe(pose(-0.2, -0.1, 0.5), fov=35.0)
        s.move_keyframe(b.id, position=[0.25, -0.05, 0.3])
        s.set_keyframe(c.id, fov=30.0)
        assert [k.time for k in s.draft.keyframes] == [0.0, 0.5, 1.0] and a.fov == pytest.approx(
            s.default_fov()
        )
        s.save()
        cam = saved(ws)
        assert len(cam) == 9 and cam.fps == 8
        np.testing.assert_allclose(cam.centers[4], [0.25, -0.05, 0.3], atol=1e-9)
        assert K.vertical_fov(cam, 8) == pytest.approx(30.0)
        opts = record(ws)["options"]
        assert Path(opts["trajectory"]) == ws.path(VIEWER_PATH).resolve()
        assert len(read_trajectory(ws.path(VIEWER_PATH))) == 9
        again = ViewerSession(ws)
        assert again.draft.mode == "keyframes" and len(again.draft.keyframes) == 3 and not again.unsaved
        np.testing.assert_allclose(again.path().world_from_camera, cam.world_from_camera, atol=1e-9)
        # Deleting the middle keyframe respreads the times; keyframes from the plan are first, middle, last.
        s.delete_keyframe(b.id)
        assert [k.time for k in s.draft.keyframes] == [0.0, 1.0]
        s.set_preset("dolly_in")
        s.keyframes_from_plan(3)
        assert len(s.draft.keyframes) == 3 and s.draft.mode == "keyframes"

    def test_a_broken_trajectory_is_one_line_and_a_save_replaces_it(self, ws):
        ws.path(W.TRAJECTORY).write_text('{"frames": [oops')
        s = ViewerSession(ws)
        assert s.error.startswith("trajectory.json is broken:") and "\n" not in s.error
        assert "trajectory.json" in s.error and "line 1" in s.error
        assert s.draft.mode == "preset" and s.path() is not None
        s.set_shot(frames=5)
        s.save()
        assert s.error == "" and len(saved(ws)) == 5

    def test_a_workspace_without_a_cache_shows_the_path_alone(self, tmp_path):
        ws = W.Workspace(tmp_path / "bare")
        s = ViewerSession(ws)
        assert s.cache is None and s.error == ""
        s.set_shot(frames=5)
        s.save()  # a plan needs no cache
        assert len(saved(ws)) == 5 and s.preview(2).shape == (480, 832, 3)
        with pytest.raises(InputError, match="add the photo first"):
            s.place_object([0, 0, 1], str(CONE))
        with pytest.raises(InputError, match="add the photo first"):
            s.start_render("inpaint")

    def test_another_process_writing_the_plan_is_picked_up(self, ws):
        from shotsmith.stages import plan_trajectory as plan_stage

        s = ViewerSession(ws)
        s.save()
        execute(ws, plan_stage.STAGE, plan_stage.Config(cam="pan_right", frames=7))
        assert s.poll() and (s.draft.mode, s.draft.preset) == ("preset", "pan_right") and len(s.path()) == 7
        assert not s.poll()

    def test_place_an_object_on_a_clicked_point_and_remove_it(self, ws):
        s = ViewerSession(ws)
        info = s.cache.info
        # The cloud point seen at pixel (64.5, 70.5): the red box of the photo.
        idx = np.argmin(
            [
                np.hypot(*(np.array(P.source_pixel(p, np.eye(4), info.intrinsics_array)) - [64.5, 70.5]))
                for p in s.cache.points
            ]
        )
        ray_dir = s.cache.points[idx] / np.linalg.norm(s.cache.points[idx])
        hit = P.pick(s.cache.points, [0, 0, 0], ray_dir)
        name = s.place_object(s.cache.points[hit], str(CONE), height=0.2)
        objects = json.loads(ws.path(W.OBJECTS_JSON).read_text())["objects"]
        assert name == "cone" and objects[0]["name"] == "cone"
        assert record(ws, "insert-object")["options"]["at_pixel"] == pytest.approx(
            list(P.source_pixel(s.cache.points[hit], np.eye(4), info.intrinsics_array))
        )
        assert len(s.object_points) == 1
        s.remove_object("cone")
        assert s.objects == []
        with pytest.raises(InputError, match="no such file"):
            s.place_object(s.cache.points[hit], "missing.ply")

    def test_choose_a_rig_and_see_its_cameras(self, ws):
        s = ViewerSession(ws)
        s.set_shot(frames=5)
        s.choose_rig("ring:n=3,radius=0.2")
        assert json.loads(ws.path(W.SHOT).read_text())["request"]["rig"] == "ring:n=3,radius=0.2"
        assert len(s.rig_paths()) == 3
        with pytest.raises(ShotsmithError):
            s.choose_rig("no_such_rig")
        s.choose_rig(None)
        assert s.rig_paths() == {}

    def test_render_shot_in_the_background(self, ws):
        s = ViewerSession(ws)
        s.set_shot(frames=5, fps=8)
        with pytest.raises(InputError, match="press Save first"):
            s.start_render("inpaint")
        s.save()
        job = s.start_render("inpaint", prompt="a red box on a wall")
        with pytest.raises(ViewerBusy):
            s.save()  # the render holds the workspace
        job.thread.join(timeout=120)
        assert job.error == "" and job.progress == 100.0 and job.output == ws.path(W.OUTPUT_VIDEO)
        frames, fps = read_video(job.output)
        assert frames.shape[0] == 5 and fps == pytest.approx(8.0)
        assert json.loads(ws.path(W.SHOT).read_text())["request"]["prompt"] == "a red box on a wall"
        assert "done in" in job.line()

    def test_preview_is_the_renderers_image(self, ws):
        from shotsmith.stages.render_guidance import Config, load_scene, render_camera

        s = ViewerSession(ws)
        s.set_shot(frames=5)
        cam = s.path()
        img = s.preview(3)
        video, _ = render_camera(load_scene(ws), cam.select(slice(3, 4)), Config())
        assert img.shape == (480, 832, 3) and (img == video.rgb[0]).all() and img.std() > 10


# ---------------------------------------------------------------------------------------------------------------
# The viser app's callbacks, driven directly (a real server, no browser)


def read_url(proc: subprocess.Popen, timeout: float = 120.0) -> str:
    """The first stdout line of a `shotsmith view` process (its URL), or an AssertionError after `timeout`."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError(f"shotsmith view printed no URL in {timeout:g} s")
    return proc.stdout.readline().strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeCamera:
    def __init__(self, m: np.ndarray) -> None:
        from shotsmith.viewer.app import wxyz_from_matrix

        self.wxyz = wxyz_from_matrix(m[:3, :3])
        self.position = m[:3, 3]


class FakeClient:
    def __init__(self, m=None) -> None:
        self.camera = FakeCamera(np.eye(4) if m is None else m)
        self.downloads: list[tuple[str, bytes]] = []

    def send_file_download(self, name: str, content: bytes) -> None:
        self.downloads.append((name, content))


def fire(handle, client, value=None) -> None:
    """What a click or an edit in a tab does: the handle's callbacks with that tab as the event's client."""
    if value is not None:
        handle.value = value  # programmatic: the app's guard ignores this one
    for cb in list(handle._impl.update_cb):
        cb(SimpleNamespace(client=client, client_id=0, target=handle))


@pytest.fixture
def viewer(ws):
    from shotsmith.viewer.server import start

    v = start(ws, port=free_port())
    yield v
    v.stop()


class TestAppCallbacks:
    def test_preset_keyframes_gizmo_save(self, viewer, ws):
        app, s = viewer.app, viewer.session
        tab = FakeClient()
        fire(app.preset, tab, "pan_right")
        assert s.draft.preset == "pan_right" and app.amount.value == 20.0 and app.amount.max == 180.0
        fire(app.amount, tab, 45.0)
        fire(app.frames, tab, 9)
        assert s.draft.amount == 45.0 and s.draft.frames == 9 and len(s.path()) == 9
        for m in (pose(), pose(0.2, 0, 0.2), look_at([-0.2, -0.1, 0.4], [0, 0, 1.0])):
            fire(app.add_key_btn, FakeClient(m))
        assert len(s.draft.keyframes) == 3 and app.selected is None and app._gizmo is None
        fire(app.key_pick, tab, "key 2 (t=1.00)")
        assert app.selected == 2 and len(app._nodes["keys"]) == 3 and app._gizmo is not None
        # The gizmo drag of the selected keyframe.
        app._on_gizmo(
            SimpleNamespace(
                client=tab,
                phase="end",
                target=SimpleNamespace(position=(-0.3, -0.1, 0.4), wxyz=app._gizmo.wxyz),
            )
        )
        np.testing.assert_allclose(s.keyframe(2).position, [-0.3, -0.1, 0.4])
        fire(app.key_fov, tab, 33.0)
        fire(app.save_btn, tab)
        cam = saved(ws)
        np.testing.assert_allclose(cam.centers[8], [-0.3, -0.1, 0.4], atol=1e-9)
        assert K.vertical_fov(cam, 8) == pytest.approx(33.0) and "saved" in app.status.content

    def test_errors_show_in_the_page_and_programmatic_updates_do_nothing(self, viewer, ws):
        app, s = viewer.app, viewer.session
        app.preset.value = "pan_left"  # no client: ignored
        assert s.draft.preset == "dolly_in"
        fire(app.words, FakeClient(), "")
        fire(app.plan_btn, FakeClient())
        fire(app.save_btn, FakeClient())
        assert "text box is empty" in app.status.content

    def test_preview_look_through_and_export(self, viewer, ws):
        app = viewer.app
        fire(app.frames, FakeClient(), 5)
        fire(app.scrub, FakeClient(), 2)
        assert app.frame == 2 and "frame 2 / 4" in app.preview_info.content
        fire(app.look, FakeClient(), True)
        assert all(not h.visible for h in app._nodes["path"])
        tab = FakeClient()
        fire(app.export_fmt, tab, "GEN3C GUI path (cam.json)")
        fire(app.export_btn, tab)
        name, content = tab.downloads[0]
        assert name == "cam.json" and len(json.loads(content)["path"]) == 5

    def test_import_a_gen3c_path_and_place_an_object_by_a_click_ray(self, viewer, ws, tmp_path):
        from viser._gui_handles import UploadedFile

        from shotsmith.presets import path_from_spec

        app, s = viewer.app, viewer.session
        cam = path_from_spec("arc_left", frames=11, fps=10, width=832, height=480)
        gen3c_gui.write_gen3c_path(tmp_path / "cam.json", cam)
        app.import_btn._impl.value = UploadedFile("cam.json", (tmp_path / "cam.json").read_bytes())
        fire(app.import_btn, FakeClient())
        assert s.draft.mode == "saved" and s.unsaved and len(s.path()) == 11
        np.testing.assert_allclose(s.path().world_from_camera, cam.world_from_camera, atol=1e-9)
        fire(app.save_btn, FakeClient())
        np.testing.assert_allclose(saved(ws).world_from_camera, cam.world_from_camera, atol=1e-9)
        # Place: the click's ray from the source camera through the cloud's middle point.
        target = s.cache.points[len(s.cache.points) // 2]
        fire(app.obj_file, FakeClient(), str(CONE))
        fire(app.place_btn, FakeClient())
        assert app._place_armed and "click a point" in app.status.content
        (click,) = [e.callback for e in app.scene._scene_pointer_cb if e.event_type == "click"]
        click(
            SimpleNamespace(ray_origin=(0.0, 0.0, 0.0), ray_direction=tuple(target / np.linalg.norm(target)))
        )
        assert not app._place_armed and not app.scene._scene_pointer_cb  # one click places one object
        assert [o["name"] for o in s.objects] == ["cone"] and len(app._nodes["objects"]) == 1

    def test_a_busy_port_moves_to_the_next_free_one(self, ws):
        from shotsmith.viewer.server import start

        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            v = start(ws, port=port)
            try:
                assert v.port != port and v.requested_port == port and v.url == f"http://127.0.0.1:{v.port}"
            finally:
                v.stop()


# ---------------------------------------------------------------------------------------------------------------
# The command line


class TestViewCommand:
    def test_without_viser_it_says_how_to_get_it(self, cli, monkeypatch, ws):
        import builtins

        real = builtins.__import__

        def no_viser(name, *args, **kwargs):
            if name == "viser":
                raise ImportError("No module named 'viser'")
            return real(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_viser)
        code, _, err = cli("view", "-w", ws.root)
        assert code == 1 and 'pip install "shotsmith[viewer]"' in err

    def test_bad_input_is_one_line(self, cli, tmp_path):
        code, _, err = cli("view")
        assert code == 1 and "give a photo" in err
        code, _, err = cli("view", "-w", tmp_path / "nope")
        assert code == 1 and "no such workspace" in err
        code, _, err = cli("view", tmp_path / "nope.jpg")
        assert code == 1 and "no such photo" in err

    def test_prints_the_url_and_ctrl_c_stops_cleanly(self, ws):
        env = {"PYTHONPATH": str(SRC), "SHOTSMITH_QUIET": "1", "PATH": "/usr/bin:/bin"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "shotsmith", "view", "-w", str(ws.root), "--port", str(free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            url = read_url(proc)
            assert url.startswith("http://127.0.0.1:")
            import urllib.request

            with urllib.request.urlopen(url, timeout=10) as page:
                assert b"<html" in page.read().lower()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
            assert "stopping the viewer" in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


# ---------------------------------------------------------------------------------------------------------------
# GEN3C's GUI files (formats/gen3c_gui.py)


class TestGen3cGui:
    def cam(self, n=17):
        from shotsmith.presets import path_from_spec

        return path_from_spec("orbit_left+dolly_in", frames=n, fps=8, width=96, height=64)

    def test_path_json_round_trip_is_exact(self, tmp_path):
        cam = self.cam()
        gen3c_gui.write_gen3c_path(tmp_path / "cam.json", cam)
        data = json.loads((tmp_path / "cam.json").read_text())
        assert {"loop", "time", "path", "duration_seconds", "spline_order"} <= data.keys()
        assert data["spline_order"] == 1 and set(data["path"][0]) == {"R", "T", "fov", "timestamp"}
        x, y, z, w = data["path"][5]["R"]  # scalar last, the c2w rotation
        np.testing.assert_allclose(Rotation.from_quat([x, y, z, w]).as_matrix(), cam.rotations[5], atol=1e-12)
        back = gen3c_gui.read_gen3c_path(tmp_path / "cam.json")
        assert len(back) == 17 and back.fps == 8 and (back.width, back.height) == (96, 64)
        np.testing.assert_allclose(back.world_from_camera, cam.world_from_camera, atol=1e-9)
        np.testing.assert_allclose(back.intrinsics, cam.intrinsics, atol=1e-9)

    def test_gen3cs_own_cubic_spline_is_evaluated_as_the_gui_does(self, tmp_path):
        keys = [{"R": [0, 0, 0, 1], "T": [float(i), 0, 0], "fov": 50.0} for i in range(4)]
        (tmp_path / "cam.json").write_text(json.dumps({"path": keys, "duration_seconds": 1.0}))
        cam = gen3c_gui.read_gen3c_path(tmp_path / "cam.json", fps=11)
        # Uniform cubic B-spline with clamped ends: starts at (5 k0 + k1) / 6, ends at (k2 + 5 k3) / 6. Invalid
        # (missing) timestamps are spread over the GUI's default 3 s, as its sanitize_keyframes does.
        assert len(cam) == 33
        assert cam.centers[0, 0] == pytest.approx(1 / 6) and cam.centers[-1, 0] == pytest.approx(3 - 1 / 6)
        assert (np.diff(cam.centers[:, 0]) > 0).all()
        assert K.vertical_fov(cam, 0) == pytest.approx(50.0)
        looped = dict(json.loads((tmp_path / "cam.json").read_text()), loop=True, spline_order=1)
        (tmp_path / "loop.json").write_text(json.dumps(looped))
        cam = gen3c_gui.read_gen3c_path(tmp_path / "loop.json", fps=4)
        assert cam.centers[-1, 0] == pytest.approx(0.0)  # a loop comes back to the first keyframe

    def test_export_cameras_round_trip_and_w2c(self, tmp_path):
        cam = self.cam(9)
        gen3c_gui.write_gen3c_cameras(tmp_path / "cam_export.json", cam)
        data = json.loads((tmp_path / "cam_export.json").read_text())
        assert np.asarray(data["cameras"][0]["start"]).shape == (3, 4) and data["resolution"] == [96, 64]
        back = gen3c_gui.read_gen3c_cameras(tmp_path / "cam_export.json")
        np.testing.assert_allclose(back.world_from_camera, cam.world_from_camera, atol=1e-12)
        np.testing.assert_allclose(back.intrinsics, cam.intrinsics, atol=1e-9)
        for c, m in zip(data["cameras"], cam.camera_from_world, strict=True):
            c["start"] = m[:3].tolist()
            del c["fov"]
        data["w2c"] = True
        (tmp_path / "w2c.json").write_text(json.dumps(data))
        back = gen3c_gui.read_gen3c_cameras(tmp_path / "w2c.json")
        np.testing.assert_allclose(back.world_from_camera, cam.world_from_camera, atol=1e-9)
        assert K.vertical_fov(back, 0) == pytest.approx(gen3c_gui.GEN3C_DEFAULT_VFOV)

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ('{"path": [{"T": [0, 0, 0], "fov": 50}]}', "path[0]: missing key 'R'"),
            ('{"path": [{"R": [0, 0, 0, 0], "T": [0, 0, 0], "fov": 50}]}', "zero quaternion"),
            ('{"path": [{"R": [0, 0, 0, 1], "T": [0, 0], "fov": 50}]}', "path[0].T"),
            ('{"path": [{"R": [0, 0, 0, 1], "T": [0, 0, 0], "fov": 200}]}', "below 180"),
            ('{"path": [{"R": [0, 0, 0, 1], "T": [0, 0, 0], "fov": 50}], "spline_order": 5}', "spline_order"),
            ('{"path": []}', "non-empty list"),
        ],
    )
    def test_bad_path_files_are_named(self, tmp_path, content, expected):
        (tmp_path / "cam.json").write_text(content)
        with pytest.raises(ShotsmithError, match=re.escape(expected)):
            gen3c_gui.read_gen3c_path(tmp_path / "cam.json")

    def test_detection(self):
        assert gen3c_gui.looks_like_path({"path": [{"R": [0, 0, 0, 1], "T": [0, 0, 0]}]})
        assert not gen3c_gui.looks_like_path({"camera_path": []})
        assert gen3c_gui.looks_like_cameras({"cameras": [{"start": [], "end": []}]})
        assert not gen3c_gui.looks_like_cameras({"frames": []})
