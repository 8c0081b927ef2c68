"""Imported camera paths enter the world anchored at their first camera and in scene units (issue 13).

Every file here is made by the test: a GenDoP-like transforms file (OpenGL c2w, no `shotsmith` block, a first
camera that is not the identity) whose motion is known in its own units, a constant-depth "depth file" whose
subject depth fixes the factor to scene units, and shotsmith's own trajectory.json.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith.camera import CameraPath, default_intrinsics, make_pose, rebase_intrinsics, scale_translations
from shotsmith.errors import CameraError
from shotsmith.formats import file_units, opengl_from_opencv, read_trajectory
from shotsmith.formats.imported import (
    DepthUnits,
    anchor,
    choose_units,
    declared_units,
    note,
    to_scene_units,
)

W, H = 128, 96
#: The file's first camera: turned 30 degrees about y and 10 about x, at (1, -2, 3) in the file's world.
FIRST = make_pose(Rotation.from_euler("yx", [30.0, 10.0], degrees=True).as_matrix(), [1.0, -2.0, 3.0])
#: Its motion, in the first camera's own frame and the file's units: forward 0.5, right 0.25, pan right 12 deg.
END_MOVE = np.array([0.25, 0.0, 0.5])
END_YAW = 12.0
DEPTH = 2.5  # the depth file's constant depth = the subject distance in the file's units


def relative_motion(n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    rots = Rotation.from_euler("y", END_YAW * s[:, None], degrees=True).as_matrix()
    return make_pose(rots, s[:, None] * END_MOVE)


def file_path(n: int = 9, fov: float = 60.0) -> CameraPath:
    """The path as the file holds it: FIRST @ relative motion."""
    return CameraPath(FIRST @ relative_motion(n), default_intrinsics(W, H, fov), W, H, 16.0)


def write_gendop_like(path, n: int = 9, fov: float = 60.0) -> None:
    """A transforms file as GenDoP writes one: OpenGL c2w, top-level intrinsics, no fps, no shotsmith block."""
    cam = file_path(n, fov)
    fx, fy, cx, cy = cam.intrinsics[0]
    gl = opengl_from_opencv(cam.world_from_camera)
    frames = [{"transform_matrix": m.tolist(), "monst3r_im_id": i} for i, m in enumerate(gl)]
    path.write_text(
        json.dumps({"w": W, "h": H, "fl_x": fx, "fl_y": fy, "cx": cx, "cy": cy, "frames": frames})
    )


@pytest.fixture
def photo_and_depth(tmp_path):
    rng = np.random.default_rng(3)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    depth = tmp_path / "depth.npy"
    np.save(depth, np.full((H, W), DEPTH, np.float32))
    return photo, depth


def build(cli, ws, photo, depth) -> None:
    code, _, err = cli(
        "build-3d-cache", "-w", ws, "--image", photo, "--depth", depth, "--filter-threshold", "0"
    )
    assert code == 0, err


def lines(err: str) -> list[str]:
    return [line for line in err.strip().splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------------------------
# The pure parts


class TestAnchor:
    def test_first_camera_becomes_the_identity(self):
        cam, done = anchor(file_path(), "first")
        np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-12)
        # the motion relative to the first camera is the file's, exactly
        np.testing.assert_allclose(cam.world_from_camera, relative_motion(9), atol=1e-12)
        np.testing.assert_allclose(cam.centers[-1], END_MOVE, atol=1e-12)
        assert done.moved and done.angle_deg == pytest.approx(31.6, abs=0.1)
        assert done.distance == pytest.approx(np.sqrt(14.0))

    def test_file_world_is_kept(self):
        cam, done = anchor(file_path(), "file")
        np.testing.assert_array_equal(cam.world_from_camera, file_path().world_from_camera)
        assert not done.moved and "own world" in note(done, None)

    def test_a_path_at_the_identity_is_untouched(self):
        start = CameraPath(relative_motion(5), default_intrinsics(W, H), W, H)
        cam, done = anchor(start)
        assert cam is start and not done.moved and note(done, None) == "starts at the identity already"

    def test_rebase_intrinsics_keeps_the_files_zoom(self):
        intr = np.array([[100.0, 100.0, 64.0, 48.0], [200.0, 200.0, 74.0, 48.0]])  # 2x zoom, pp 0.1 f right
        out = rebase_intrinsics(intr, [50.0, 60.0, 60.0, 50.0])
        np.testing.assert_allclose(out, [[50.0, 60.0, 60.0, 50.0], [100.0, 120.0, 65.0, 50.0]])

    def test_scale_translations(self):
        cam = scale_translations(file_path(), 0.4)
        np.testing.assert_allclose(cam.centers, 0.4 * file_path().centers)
        np.testing.assert_array_equal(cam.rotations, file_path().rotations)
        with pytest.raises(CameraError, match="positive"):
            scale_translations(cam, 0.0)


class TestChooseUnits:
    prior = DepthUnits(scale=2.0, from_file=False, metric=False)
    depth_file = DepthUnits(scale=2.5, from_file=True, metric=False)
    metric = DepthUnits(scale=4.0, from_file=False, metric=True)

    @pytest.mark.parametrize(
        ("declared", "requested", "depth", "factor", "units"),
        [
            ("scene", "auto", depth_file, 1.0, "scene"),  # our own trajectory.json is used as it is
            (None, "auto", depth_file, 0.4, "depth file"),  # GenDoP: the depth file's units, 1 / 2.5
            (
                "metres",
                "auto",
                depth_file,
                0.4,
                "depth file",
            ),  # a depth file wins: it is the reconstruction's
            ("metres", "auto", metric, 0.25, "metres"),  # metres with a metric model: 1 / 4
            (None, "scene", None, 1.0, "scene"),
            (None, "depth", prior, 0.5, "depth"),
            (None, "metres", metric, 0.25, "metres"),
            ("scene", "depth", depth_file, 0.4, "depth file"),  # the user's word beats the file's
        ],
    )
    def test_factor(self, declared, requested, depth, factor, units):
        decision = choose_units(declared, requested, depth)
        assert decision.factor == pytest.approx(factor) and decision.units == units and not decision.problem

    @pytest.mark.parametrize(
        ("declared", "requested", "depth", "needle"),
        [
            (None, "auto", prior, "does not come from a depth file"),
            ("metres", "auto", prior, "depth is relative"),
            (None, "metres", depth_file, "depth file's depth is relative"),
            (None, "auto", None, "no 3D cache"),
            (None, "depth", None, "no 3D cache"),
        ],
    )
    def test_unknown(self, declared, requested, depth, needle):
        decision = choose_units(declared, requested, depth)
        assert decision.factor is None and needle in decision.problem

    def test_to_scene_units_and_note(self):
        cam, done = anchor(file_path())
        decision = choose_units(None, "auto", self.depth_file)
        out = to_scene_units(cam, decision)
        np.testing.assert_allclose(out.centers[-1], 0.4 * END_MOVE, atol=1e-12)
        assert out.meta["units"] == "scene" and out.meta["translation_scale"] == pytest.approx(0.4)
        line = note(done, decision)
        assert line.startswith("re-expressed relative to the first camera") and "x 0.4 to scene units" in line

    def test_declared_units(self, tmp_path):
        assert declared_units({"units": "subject_distance"}) == "scene"
        assert declared_units({"units": "meters"}) == "metres"
        assert declared_units({}) is None
        write_gendop_like(tmp_path / "g.json")
        assert file_units(tmp_path / "g.json") is None


# ---------------------------------------------------------------------------------------------------------------
# plan-trajectory in a workspace


class TestPlanTrajectory:
    def test_gendop_like_file_with_its_depth_file(self, cli, tmp_path, photo_and_depth):
        """The issue's case: frame 0 is the source view, translations / 2.5 (the depth file's subject depth)."""
        ws = tmp_path / "ws"
        build(cli, ws, *photo_and_depth)
        write_gendop_like(tmp_path / "path.json")
        code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", tmp_path / "path.json")
        assert code == 0, err
        assert "re-expressed relative to the first camera" in err and "x 0.4 to scene units" in err
        cam = read_trajectory(ws / "trajectory.json")
        np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-9)
        np.testing.assert_allclose(cam.centers[-1], END_MOVE / DEPTH, atol=1e-9)  # (0.1, 0, 0.2)
        yaw = Rotation.from_matrix(cam.rotations[-1]).as_euler("yxz", degrees=True)
        assert yaw == pytest.approx([END_YAW, 0.0, 0.0], abs=1e-6)  # pans right 12 degrees, as in the file
        data = json.loads((ws / "trajectory.json").read_text())
        assert data["shotsmith"]["units"] == "subject_distance"
        assert data["shotsmith"]["source"]["translation_scale"] == pytest.approx(0.4)

    def test_frame_0_looks_through_the_source_camera(self, cli, tmp_path, photo_and_depth):
        """A file whose camera is 45 degrees wide over a cache built at 60 (the default): frame 0 takes the
        cache's intrinsics (so it shows the photo), the note names the --fov that would use the file's."""
        ws = tmp_path / "ws"
        build(cli, ws, *photo_and_depth)
        write_gendop_like(tmp_path / "path.json", fov=45.0)
        code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", tmp_path / "path.json")
        assert code == 0, err
        assert "60 degrees wide, default" in err and "--fov 45" in err
        cam = read_trajectory(ws / "trajectory.json")
        np.testing.assert_allclose(cam.intrinsics, np.tile(default_intrinsics(W, H, 60.0), (9, 1)), atol=1e-9)
        assert (
            cli(
                "plan-trajectory",
                "-w",
                ws,
                "--trajectory",
                tmp_path / "path.json",
                "--trajectory-world",
                "file",
            )[0]
            == 0
        )
        cam = read_trajectory(ws / "trajectory.json")  # the file's world: its own intrinsics too
        np.testing.assert_allclose(cam.intrinsics[0], default_intrinsics(W, H, 45.0), atol=1e-9)

    def test_file_world_and_scene_units_options(self, cli, tmp_path, photo_and_depth):
        ws = tmp_path / "ws"
        build(cli, ws, *photo_and_depth)
        write_gendop_like(tmp_path / "path.json")
        args = ("plan-trajectory", "-w", ws, "--trajectory", tmp_path / "path.json")
        assert cli(*args, "--trajectory-world", "file")[0] == 0
        cam = read_trajectory(ws / "trajectory.json")
        expected = FIRST.copy()
        expected[:3, 3] /= DEPTH
        np.testing.assert_allclose(cam.world_from_camera[0], expected, atol=1e-9)
        assert cli(*args, "--trajectory-units", "scene")[0] == 0
        cam = read_trajectory(ws / "trajectory.json")
        np.testing.assert_allclose(cam.centers[-1], END_MOVE, atol=1e-9)  # as given

    def test_own_trajectory_in_scene_units_is_used_as_is(self, cli, tmp_path, photo_and_depth):
        ws = tmp_path / "ws"
        build(cli, ws, *photo_and_depth)
        own = tmp_path / "own.json"
        assert cli("plan", "--cam", "dolly_in", "-o", own, "--frames", "9", "--size", f"{W}x{H}")[0] == 0
        code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", own)
        assert code == 0, err
        assert "scene units as given" in err
        np.testing.assert_allclose(
            read_trajectory(ws / "trajectory.json").centers[-1], [0, 0, 0.35], atol=1e-9
        )

    def test_metres_with_a_metric_depth(self, cli, tmp_path, photo_and_depth):
        ws = tmp_path / "ws"
        build(cli, ws, *photo_and_depth)
        info = json.loads((ws / "cache" / "cache.json").read_text())
        info.update(backend="depth-anything-v2", backend_units="metres")  # as a metric model would write it
        (ws / "cache" / "cache.json").write_text(json.dumps(info))
        metres = tmp_path / "metres.json"
        assert (
            cli("plan", "--cam", "recammaster:1", "-o", metres, "--frames", "9", "--size", f"{W}x{H}")[0] == 0
        )
        assert file_units(metres) == "metres"
        before = read_trajectory(metres)
        code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", metres)
        assert code == 0, err
        after = read_trajectory(ws / "trajectory.json")
        np.testing.assert_allclose(after.centers, before.centers / DEPTH, atol=1e-9)
        assert "x 0.4 to scene units (from metres)" in err

    def test_unknown_units_are_one_line_naming_the_option(self, cli, tmp_path, photo_and_depth):
        photo, _ = photo_and_depth
        write_gendop_like(tmp_path / "path.json")
        ws = tmp_path / "ws"
        code, _, err = cli("build-3d-cache", "-w", ws, "--image", photo, "--depth", "prior")
        assert code == 0, err
        code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", tmp_path / "path.json")
        assert code == 1 and len(lines(err)) == 1
        assert "path.json" in err and "--trajectory-units scene" in err and "depth file" in err
        assert not (ws / "trajectory.json").exists()
        # said in words: the depth's own units (the prior's scale) or scene units
        assert (
            cli(
                "plan-trajectory",
                "-w",
                ws,
                "--trajectory",
                tmp_path / "path.json",
                "--trajectory-units",
                "depth",
            )[0]
            == 0
        )
        scale = json.loads((ws / "cache" / "cache.json").read_text())["scale_to_backend_units"]
        np.testing.assert_allclose(
            read_trajectory(ws / "trajectory.json").centers[-1], END_MOVE / scale, atol=1e-9
        )

    def test_no_cache_is_one_line(self, cli, tmp_path):
        write_gendop_like(tmp_path / "path.json")
        code, _, err = cli("plan-trajectory", "-w", tmp_path / "ws", "--trajectory", tmp_path / "path.json")
        assert code == 1 and len(lines(err)) == 1 and "no 3D cache" in err and "--trajectory-units" in err

    def test_options_are_for_files_only(self, cli, tmp_path):
        code, _, err = cli(
            "plan-trajectory", "-w", tmp_path / "ws", "--cam", "dolly_in", "--trajectory-world", "file"
        )
        assert code == 1 and len(lines(err)) == 1 and "camera files" in err


# ---------------------------------------------------------------------------------------------------------------
# shotsmith plan (no workspace) and bad files


class TestPlanCommand:
    def test_prints_what_it_did(self, cli, tmp_path):
        write_gendop_like(tmp_path / "path.json")
        out = tmp_path / "t.json"
        code, _, err = cli("plan", "--trajectory", tmp_path / "path.json", "-o", out)
        assert code == 0, err
        assert "re-expressed relative to the first camera (it was turned 31.6 degrees and 3.74" in err
        assert "translations kept in the file's units" in err
        cam = read_trajectory(out)
        np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-9)
        np.testing.assert_allclose(cam.centers[-1], END_MOVE, atol=1e-9)  # no cache: as they are
        assert json.loads(out.read_text())["shotsmith"]["units"] == "unknown"

    def test_units_that_need_a_cache(self, cli, tmp_path):
        write_gendop_like(tmp_path / "path.json")
        code, _, err = cli(
            "plan",
            "--trajectory",
            tmp_path / "path.json",
            "--trajectory-units",
            "depth",
            "-o",
            tmp_path / "t.json",
        )
        assert (
            code == 1 and len(lines(err)) == 1 and "no 3D cache" in err and "--trajectory-units scene" in err
        )

    @pytest.mark.parametrize(
        ("first", "needle"),
        [
            (np.zeros((3, 4)), "not orthonormal"),
            (np.diag([2.0, 2.0, 2.0, 1.0]), "not orthonormal"),
            (np.diag([1.0, 1.0, -1.0, 1.0]), "reflection"),
            (np.zeros((4, 4)), "last row"),
        ],
    )
    def test_degenerate_first_camera(self, cli, tmp_path, first, needle):
        frames = [{"transform_matrix": first.tolist()}] + [{"transform_matrix": np.eye(4).tolist()}] * 3
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"w": W, "h": H, "fl_x": 100.0, "frames": frames}))
        code, _, err = cli("plan", "--trajectory", bad, "-o", tmp_path / "t.json")
        assert code == 1 and len(lines(err)) == 1
        assert "bad.json" in err and "frames[0]" in err and "the first camera" in err and needle in err


# ---------------------------------------------------------------------------------------------------------------
# recapture's target paths


def test_recapture_target_from_a_file_is_anchored_and_scaled(cli, tmp_path):
    from shotsmith.media import write_video

    n, w, h = 6, 64, 48
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    video = tmp_path / "clip.mp4"
    write_video(video, np.repeat(frame[None], n, axis=0), 12.0, quality=10)
    depth = tmp_path / "depth.npz"
    np.savez(depth, depth=np.full((n, h, w), 2.0, np.float32))
    ws = tmp_path / "ws"
    code, _, err = cli("build-3d-cache", "-w", ws, "--video", video, "--depth", depth, "--size", f"{w}x{h}")
    assert code == 0, err
    write_gendop_like(tmp_path / "path.json", n=n)
    code, _, err = cli("plan-trajectory", "-w", ws, "--cam", tmp_path / "path.json")
    assert code == 0, err
    cam = read_trajectory(ws / "trajectory.json")
    assert len(cam) == n
    np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-9)
    np.testing.assert_allclose(cam.centers[-1], END_MOVE / 2.0, atol=1e-6)
    code, _, err = cli(
        "plan-trajectory",
        "-w",
        ws,
        "--cam",
        tmp_path / "path.json",
        "--trajectory-world",
        "file",
        "--target",
        "follow",
    )
    assert code == 1 and "--target follow" in err


# ---------------------------------------------------------------------------------------------------------------
# shotsmith run: frame 0 is the photo


def _frame0_psnr(ws, photo) -> float:
    from shotsmith.media import read_video

    video, _ = read_video(ws / "output" / "shot.mp4")
    img = cv2.imread(str(photo))[:, :, ::-1]
    img = cv2.resize(img, (video.shape[2], video.shape[1]), interpolation=cv2.INTER_AREA)
    mse = ((video[0].astype(float) - img.astype(float)) ** 2).mean()
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def test_run_with_a_path_file_starts_at_the_photo(cli, tmp_path):
    """The issue's `run --image --depth --trajectory`: frame 0 is the photo (as a static shot's frame 0 is);
    keeping the file's world shows it moved and turned (the 12 dB frame 0 of the issue)."""
    y, x = np.mgrid[0:H, 0:W]
    smooth = np.stack([x * 2, y * 2, 255 - x - y], axis=-1).clip(0, 255).astype(np.uint8)
    smooth[30:60, 40:80] = [40, 200, 90]
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), smooth[:, :, ::-1])
    depth = tmp_path / "depth.npy"
    np.save(depth, np.full((H, W), DEPTH, np.float32))
    write_gendop_like(tmp_path / "path.json", fov=45.0)  # the cache guesses 60: frame 0 still shows the photo
    common = ("--image", photo, "--depth", depth, "--generator", "inpaint", "--frames", "9")
    psnr = {}
    for name, extra in (
        ("static", ("--cam", "static", "--size", f"{W}x{H}")),
        ("first", ("--trajectory", tmp_path / "path.json")),
        ("file", ("--trajectory", tmp_path / "path.json", "--trajectory-world", "file")),
    ):
        code, _, err = cli("run", "a box", *common, *extra, "-w", tmp_path / name)
        assert code == 0, err
        psnr[name] = _frame0_psnr(tmp_path / name, photo)
    assert psnr["first"] >= 30.0 and psnr["first"] == pytest.approx(psnr["static"], abs=0.5), psnr
    assert psnr["file"] < 15.0, psnr
    cam = read_trajectory(tmp_path / "first" / "trajectory.json")
    np.testing.assert_allclose(cam.centers[-1], END_MOVE / DEPTH, atol=1e-9)


def test_run_refuses_unknown_units_before_building_anything(cli, tmp_path, photo_and_depth):
    photo, _ = photo_and_depth
    write_gendop_like(tmp_path / "path.json")
    ws = tmp_path / "ws"
    code, _, err = cli(
        "run", "a box", "--image", photo, "--depth", "prior", "--trajectory", tmp_path / "path.json", "-w", ws
    )
    assert code == 1 and len(lines(err)) == 1 and "--trajectory-units scene" in err
    assert not (ws / "cache").exists()
