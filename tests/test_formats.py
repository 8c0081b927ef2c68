"""Tests of shotsmith.formats and `shotsmith convert`: round trips, real-format data, detection, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pycolmap
import pytest
from scipy.spatial.transform import Rotation

from shotsmith.camera import CameraPath, default_intrinsics, invert_rigid, make_pose
from shotsmith.errors import FormatError
from shotsmith.formats import (
    FORMATS,
    detect_format,
    guess_output_format,
    opencv_from_opengl,
    opencv_from_ue,
    opengl_from_opencv,
    read_camera_file,
    read_camera_rig,
    read_trajectory,
    ue_from_opencv,
    write_camera_file,
    write_trajectory,
)

DATA = Path(__file__).parent / "data" / "formats"
RECAMMASTER = (
    DATA / "recammaster_10basic_camera_extrinsics.json"
)  # ReCamMaster's own file, see data/README.md


def random_path(n: int = 6, seed: int = 0, varying_intrinsics: bool = False, **kwargs) -> CameraPath:
    """A seeded path with general rotations and translations (64x48 pixels)."""
    rng = np.random.default_rng(seed)
    rots = Rotation.from_rotvec(rng.normal(scale=0.4, size=(n, 3))).as_matrix()
    mats = make_pose(rots, rng.normal(size=(n, 3)))
    intr = np.tile(default_intrinsics(64, 48), (n, 1))
    if varying_intrinsics:
        intr = intr * (1 + 0.1 * rng.random((n, 4)))
    return CameraPath(mats, intr, 64, 48, kwargs.pop("fps", 24.0), **kwargs)


def assert_same_path(a: CameraPath, b: CameraPath, tol: float = 1e-9) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a.world_from_camera, b.world_from_camera, atol=tol, rtol=0)
    np.testing.assert_allclose(a.intrinsics, b.intrinsics, atol=tol, rtol=0)
    assert (a.width, a.height) == (b.width, b.height)


# ---------------------------------------------------------------------------------------------------------------
# OpenCV <-> OpenGL


class TestAxes:
    def test_round_trip(self):
        m = random_path(5).world_from_camera
        np.testing.assert_array_equal(opencv_from_opengl(opengl_from_opencv(m)), m)
        np.testing.assert_array_equal(opengl_from_opencv(opencv_from_opengl(m)), m)

    def test_known_value(self):
        np.testing.assert_array_equal(opengl_from_opencv(np.eye(4)), np.diag([1.0, -1.0, -1.0, 1.0]))
        m = make_pose(np.eye(3), [1.0, 2.0, 3.0])
        assert opengl_from_opencv(m)[:3, 3].tolist() == [1.0, 2.0, 3.0]  # the world is untouched

    def test_keeps_rotation_proper(self):
        m = random_path(4).world_from_camera
        assert (np.linalg.det(opengl_from_opencv(m)[:, :3, :3]) > 0).all()


# ---------------------------------------------------------------------------------------------------------------
# transforms.json (trajectory.json, GenDoP)


class TestTrajectory:
    @pytest.mark.parametrize("varying", [False, True])
    def test_round_trip(self, tmp_path, varying):
        cam = random_path(7, varying_intrinsics=varying, meta={"preset": "orbit", "text": "slow orbit"})
        write_trajectory(tmp_path / "trajectory.json", cam)
        back = read_trajectory(tmp_path / "trajectory.json")
        assert_same_path(back, cam)
        assert back.fps == cam.fps and back.meta == cam.meta

    def test_layout(self, tmp_path):
        cam = random_path(3, fps=16.0, meta={"preset": "dolly"})
        write_trajectory(tmp_path / "t.json", cam)
        data = json.loads((tmp_path / "t.json").read_text())
        assert {"w", "h", "fl_x", "fl_y", "cx", "cy", "fps", "frames", "shotsmith"} <= data.keys()
        assert data["shotsmith"] == {
            "schema_version": 1,
            "units": "subject_distance",
            "source": {"preset": "dolly"},
        }
        assert [f["time"] for f in data["frames"]] == [0.0, 1 / 16, 2 / 16]
        np.testing.assert_array_equal(
            data["frames"][1]["transform_matrix"], opengl_from_opencv(cam.world_from_camera[1])
        )
        assert "fl_x" not in data["frames"][0]  # constant intrinsics stay at the top level

    def test_gendop_layout(self, tmp_path):
        """GenDoP *_transforms_cleaning.json: 120 OpenGL c2w frames from diag(1,-1,-1,1), monst3r_im_id, no fps."""
        frames = []
        for i in range(120):
            gl = np.diag([1.0, -1.0, -1.0, 1.0])
            gl[:3, :3] = Rotation.from_euler("y", 0.1 * i, degrees=True).as_matrix() @ gl[:3, :3]
            gl[:3, 3] = [0.002 * i, 0.0, -0.001 * i]
            frames.append({"transform_matrix": gl.tolist(), "monst3r_im_id": i + 1})
        data = {
            "w": 512,
            "h": 288,
            "fl_x": 402.01,
            "fl_y": 402.01,
            "cx": 256.0,
            "cy": 144.0,
            "frames": frames,
        }
        (tmp_path / "case2_transforms_cleaning.json").write_text(json.dumps(data))
        cam = read_camera_file(tmp_path / "case2_transforms_cleaning.json")
        assert len(cam) == 120 and (cam.width, cam.height) == (512, 288) and cam.fps == 16.0
        np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-12)  # OpenCV identity
        np.testing.assert_allclose(cam.intrinsics[0], [402.01, 402.01, 256.0, 144.0])
        assert cam.centers[-1, 0] == pytest.approx(0.238)
        assert cam.meta["format"] == "transforms"
        assert read_camera_file(tmp_path / "case2_transforms_cleaning.json", fps=8).fps == 8

    def test_fps_from_times_and_camera_angle(self, tmp_path):
        frames = [{"transform_matrix": np.eye(4).tolist(), "time": t} for t in (0.0, 0.1, 0.2)]
        data = {"w": 100, "h": 50, "camera_angle_x": float(np.radians(90.0)), "frames": frames}
        (tmp_path / "t.json").write_text(json.dumps(data))
        cam = read_trajectory(tmp_path / "t.json")
        assert cam.fps == pytest.approx(10.0)
        np.testing.assert_allclose(cam.intrinsics[0], [50.0, 50.0, 50.0, 25.0])

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("{not json", "line 1 column 2"),
            ("[1, 2]", "expected a JSON object"),
            (
                '{"w": 4, "h": 4, "fl_x": 2, "frames": [{"time": 0}]}',
                "frames[0]: missing key 'transform_matrix'",
            ),
            ('{"w": 4, "h": 4, "fl_x": 2, "frames": [{"transform_matrix": [[1, 0], [0, 1]]}]}', "shape"),
            (
                '{"w": 4, "h": 4, "fl_x": 2, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,NaN],[0,0,0,1]]}]}',
                "NaN",
            ),
            (
                '{"w": 4, "h": 4, "fl_x": 2, "frames": [{"transform_matrix": [[2,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
                "frames[0] (frame 0): rotation is not orthonormal",
            ),
            (
                '{"w": 4, "h": 4, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
                "no focal length",
            ),
            (
                '{"h": 4, "fl_x": 2, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
                "missing key 'w'",
            ),
            ('{"w": 4, "h": 4, "fl_x": 2, "frames": []}', "non-empty list"),
            (
                '{"w": 4, "h": 4, "fl_x": 2, "camera_model": "OPENCV_FISHEYE", "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
                "OPENCV_FISHEYE",
            ),
            (
                '{"w": 4, "h": 4, "fl_x": 2, "shotsmith": {"schema_version": 99}, "frames": [{"transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}',
                "newer shotsmith",
            ),
        ],
    )
    def test_bad_files(self, tmp_path, content, expected):
        path = tmp_path / "bad.json"
        path.write_text(content)
        with pytest.raises(FormatError) as info:
            read_trajectory(path)
        assert str(path) in str(info.value) and expected in str(info.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(FormatError, match="no such file"):
            read_trajectory(tmp_path / "nope.json")


# ---------------------------------------------------------------------------------------------------------------
# Unreal Engine (ReCamMaster / SynCamMaster)

#: REFERENCE 2.2: end translation (m, OpenCV) and end rotation vector (degrees) relative to frame 0.
RECAMMASTER_END_STATES = {
    "cam01": ((0, 0, 0), (0, 19.88, 0)),
    "cam02": ((0, 0, 0), (0, -19.88, 0)),
    "cam03": ((0, 0, 0), (9.94, 0, 0)),
    "cam04": ((0, 0, 0), (-9.94, 0, 0)),
    "cam05": ((0, 0, 1.988), (0, 0, 0)),
    "cam06": ((0, 0, -1.988), (0, 0, 0)),
    "cam07": ((0, -0.994, 0), (-13.95, 0, 0)),
    "cam08": ((0, 0.994, 0), (13.95, 0, 0)),
    "cam09": ((-1.988, 0, 0.533), (0, 29.82, 0)),
    "cam10": ((1.988, 0, 0.533), (0, -29.82, 0)),
}


def naive_recammaster_c2w(text: str) -> np.ndarray:
    """ReCamMaster's own conversion (REFERENCE 1.3): transpose, columns [1, 2, 0], negate column 1, / 100."""
    rows = np.array([[float(v) for v in row.split()] for row in text.replace("]", "").split("[")[1:]])
    c2w = rows.T[:, [1, 2, 0, 3]]
    c2w[:, 1] *= -1
    c2w[:3, 3] /= 100
    return c2w


@pytest.fixture(scope="module")
def recammaster_rig():
    return read_camera_rig(RECAMMASTER)


class TestUnrealRecamMaster:
    @pytest.fixture
    def rig(self, recammaster_rig):
        return recammaster_rig

    def test_detected(self):
        assert detect_format(RECAMMASTER) == "ue"

    def test_end_states(self, rig):
        assert sorted(rig) == [f"cam{k:02d}" for k in range(1, 11)]
        for name, (translation, rotvec_deg) in RECAMMASTER_END_STATES.items():
            cam = rig[name]
            assert len(cam) == 81
            np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-6)
            end = cam.world_from_camera[-1]
            np.testing.assert_allclose(end[:3, 3], translation, atol=1e-3, err_msg=name)
            rotvec = Rotation.from_matrix(end[:3, :3]).as_rotvec(degrees=True)
            np.testing.assert_allclose(rotvec, rotvec_deg, atol=0.01, err_msg=name)

    def test_relative_motion_equals_recammaster_conversion(self, rig):
        raw = json.loads(RECAMMASTER.read_text())
        for name in ("cam01", "cam07", "cam09"):
            naive = np.stack([naive_recammaster_c2w(raw[f"frame{i}"][name]) for i in range(0, 81, 10)])
            assert np.linalg.det(naive[0, :3, :3]) < 0  # the naive absolute pose is improper...
            relative = (
                np.linalg.inv(naive[0]) @ naive
            )  # ...its relative poses are what ReCamMaster feeds the model
            np.testing.assert_allclose(rig[name].world_from_camera[::10], relative, atol=2e-6)

    def test_camera_selection(self):
        for spelling in ("5", "05", "cam05"):
            cam = read_camera_file(RECAMMASTER, camera=spelling, width=1280, height=1280, fps=15)
            np.testing.assert_allclose(cam.centers[-1], [0, 0, 1.988], atol=1e-3)
            assert (cam.width, cam.height, cam.fps) == (1280, 1280, 15.0)
        with pytest.raises(FormatError, match="cam01, cam02.*cam10"):
            read_camera_file(RECAMMASTER)
        with pytest.raises(FormatError, match="no camera '11'"):
            read_camera_file(RECAMMASTER, camera="11")

    def test_absolute_world(self):
        cam = read_camera_file(RECAMMASTER, camera="1", relative=False)
        # UE (3390, 1380, 240) cm -> x = UE Y, y = -UE Z, z = UE X, in metres; identity rotation stays identity
        np.testing.assert_allclose(cam.centers[0], [13.8, -2.4, 33.9], atol=1e-9)
        np.testing.assert_allclose(cam.rotations[0], np.eye(3), atol=1e-9)

    def test_syncammaster_scale(self):
        cam = read_camera_file(RECAMMASTER, "syncammaster", camera="5")
        np.testing.assert_allclose(cam.centers[-1], [0, 0, 0.994], atol=1e-3)


class TestUnreal:
    def test_conversion_round_trip(self):
        m = random_path(5).world_from_camera
        np.testing.assert_allclose(opencv_from_ue(ue_from_opencv(m)), m, atol=1e-12)
        np.testing.assert_allclose(opencv_from_ue(ue_from_opencv(m, 200.0), 200.0), m, atol=1e-12)

    def test_file_round_trip_rig(self, tmp_path):
        rig = {"cam01": random_path(4, seed=1), "cam02": random_path(4, seed=2)}
        write_camera_file(tmp_path / "camera_extrinsics.json", rig, "ue")
        back = read_camera_rig(tmp_path / "camera_extrinsics.json", relative=False, width=64, height=48)
        assert sorted(back) == ["cam01", "cam02"]
        for name in rig:
            np.testing.assert_allclose(back[name].world_from_camera, rig[name].world_from_camera, atol=1e-9)

    def test_file_round_trip_single(self, tmp_path):
        cam = random_path(4, seed=3)
        write_camera_file(tmp_path / "c.json", cam, "syncammaster")
        raw = json.loads((tmp_path / "c.json").read_text())
        assert list(raw) == ["frame0", "frame1", "frame2", "frame3"] and list(raw["frame0"]) == ["cam01"]
        assert raw["frame0"]["cam01"].count("[") == 4
        back = read_camera_file(tmp_path / "c.json", "syncammaster", relative=False)
        np.testing.assert_allclose(back.world_from_camera, cam.world_from_camera, atol=1e-9)
        rel = read_camera_file(tmp_path / "c.json", "syncammaster")
        np.testing.assert_allclose(
            rel.world_from_camera, invert_rigid(cam.world_from_camera[0]) @ cam.world_from_camera, atol=1e-9
        )

    def test_hemi36_layout(self, tmp_path):
        """Old SynCamMaster rigs: {"C_01_18mm": "<4 rows>"}: cameras at one frame each, 3-entry rows tolerated."""
        data = {
            "C_01_18mm": "[1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 0 1]",
            "C_02_18mm": "[0 1 0] [-1 0 0] [0 0 1] [0 -400 0]",
        }
        (tmp_path / "Hemi36_4m_0.json").write_text(json.dumps(data))
        rig = read_camera_rig(tmp_path / "Hemi36_4m_0.json", "syncammaster")
        assert list(rig) == ["C_01_18mm", "C_02_18mm"] and len(rig["C_02_18mm"]) == 1
        np.testing.assert_allclose(rig["C_02_18mm"].centers[0], [-2.0, 0, 0], atol=1e-12)  # 400 cm left / 200

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("[1 0 0 0] [0 1 0 0] [0 0 1 0]", "four bracketed rows"),
            ("[1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 x 1]", "row 3"),
            ("[1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 nan 1]", "NaN"),
            ("[-1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 0 1]", "reflection"),
            ("[2 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 0 1]", "not orthonormal"),
        ],
    )
    def test_bad_strings(self, tmp_path, value, expected):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"frame0": {"cam01": value}}))
        with pytest.raises(FormatError, match=expected) as info:
            read_camera_file(path)
        assert "frame0.cam01" in str(info.value) and str(path) in str(info.value)

    def test_missing_camera_in_frame(self, tmp_path):
        identity = "[1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 0 1]"
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"frame0": {"cam01": identity}, "frame1": {"cam02": identity}}))
        with pytest.raises(FormatError, match="frame1: missing camera 'cam01'"):
            read_camera_rig(path)


# ---------------------------------------------------------------------------------------------------------------
# RealEstate10K / CameraCtrl / CamI2V text


class TestRe10k:
    def test_cameractrl_file(self):
        cam = read_camera_file(DATA / "cameractrl_pose.txt", width=384, height=256)
        assert detect_format(DATA / "cameractrl_pose.txt") == "re10k"
        assert len(cam) == 4 and cam.meta["url"].startswith("https://www.youtube.com/")
        np.testing.assert_allclose(cam.intrinsics[0], [0.474812 * 384, 0.844111 * 256, 192, 128])
        np.testing.assert_allclose(cam.world_from_camera[0], np.eye(4), atol=1e-9)
        np.testing.assert_allclose(cam.centers[-1], [0.3, 0.0, 0.06], atol=1e-8)
        yaw = Rotation.from_matrix(cam.rotations[-1]).as_rotvec(degrees=True)
        np.testing.assert_allclose(yaw, [0, 6.0, 0], atol=1e-6)
        assert cam.fps == pytest.approx(1e6 / 33366)

    def test_default_size(self):
        cam = read_camera_file(DATA / "cameractrl_pose.txt")
        assert (cam.width, cam.height) == (832, 480)

    def test_round_trip(self, tmp_path):
        cam = random_path(6, varying_intrinsics=True, fps=16.0)
        write_camera_file(tmp_path / "pose.txt", cam, "re10k")
        back = read_camera_file(tmp_path / "pose.txt", width=64, height=48)
        assert_same_path(back, cam)
        assert back.fps == pytest.approx(16.0)

    def test_cami2v_style_repeated_timestamps(self, tmp_path):
        rows = ["https://xxx"] + ["114514 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0"] * 2
        (tmp_path / "stationary.txt").write_text("\n".join(rows) + "\n")
        cam = read_camera_file(tmp_path / "stationary.txt")
        assert len(cam) == 2 and cam.fps == 16.0

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("114514 0.5 0.5 0.5 0.5 0 0 -1 0 0 0 0 1 0 0 0 0 1 0", "line 3: rotation is a reflection"),
            ("114514 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1", "line 3: expected 19 numbers"),
            ("114514 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 nan", "line 3: NaN"),
            ("114514 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 one 0", "line 3: expected 19 numbers"),
            ("114514 0.5 0.5 0.5 0.5 0 0 2 0 0 0 0 1 0 0 0 0 1 0", "line 3: rotation is not orthonormal"),
            (
                "114514 0 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0",
                "line 3 (frame 1): focal lengths must be positive",
            ),
        ],
    )
    def test_bad_lines(self, tmp_path, line, expected):
        good = "114514 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0"
        path = tmp_path / "bad.txt"
        path.write_text(f"https://xxx\n{good}\n{line}\n")
        with pytest.raises(FormatError) as info:
            read_camera_file(path, "re10k")
        assert str(path) in str(info.value) and expected in str(info.value)


# ---------------------------------------------------------------------------------------------------------------
# GEN3C camera.npz and ViPE pose npz


class TestGen3c:
    def test_round_trip(self, tmp_path):
        cam = random_path(5, varying_intrinsics=True, fps=24.0)
        write_camera_file(tmp_path / "camera.npz", cam, "gen3c")
        with np.load(tmp_path / "camera.npz", allow_pickle=False) as npz:
            assert npz["w2c"].shape == (5, 4, 4) and npz["intrinsics"].shape == (5, 3, 3)
        back = read_camera_file(tmp_path / "camera.npz")
        assert_same_path(back, cam)
        assert back.fps == 24.0

    def test_distributed_format_without_size(self, tmp_path):
        """GEN3C's own file: only w2c and K; the size comes from the principal point (1280x704)."""
        w2c = np.tile(np.eye(4), (3, 1, 1))
        w2c[:, 0, 3] = [0.0, -0.1, -0.2]  # camera moves right: t = -R c
        k = np.tile([[1000.0, 0, 640], [0, 1000.0, 352], [0, 0, 1]], (3, 1, 1))
        np.savez(tmp_path / "camera.npz", w2c=w2c.astype(np.float32), intrinsics=k.astype(np.float32))
        cam = read_camera_file(tmp_path / "camera.npz")
        assert (cam.width, cam.height, cam.fps) == (1280, 704, 16.0)
        np.testing.assert_allclose(cam.centers[:, 0], [0.0, 0.1, 0.2], atol=1e-7)

    def test_vipe_pose_with_sibling_intrinsics(self, tmp_path):
        (tmp_path / "pose").mkdir()
        (tmp_path / "intrinsics").mkdir()
        cam = random_path(4)
        np.savez(tmp_path / "pose" / "clip.npz", inds=np.arange(4), data=cam.world_from_camera.reshape(4, 16))
        np.savez(tmp_path / "intrinsics" / "clip.npz", inds=np.arange(4), data=cam.intrinsics)
        back = read_camera_file(tmp_path / "pose" / "clip.npz")
        assert_same_path(back, cam)
        assert back.meta["format"] == "vipe"

    def test_bad_files(self, tmp_path):
        np.savez(tmp_path / "obj.npz", w2c=np.array([{"a": 1}], dtype=object), intrinsics=np.eye(3)[None])
        with pytest.raises(FormatError, match="without pickle"):
            read_camera_file(tmp_path / "obj.npz", "gen3c")
        np.savez(tmp_path / "shape.npz", w2c=np.eye(4)[None], intrinsics=np.eye(2)[None])
        with pytest.raises(FormatError, match=r"intrinsics: expected shape \(T, 3, 3\)"):
            read_camera_file(tmp_path / "shape.npz")
        nan = np.tile(np.eye(4), (2, 1, 1))
        nan[1, 0, 3] = np.nan
        np.savez(tmp_path / "nan.npz", w2c=nan, intrinsics=np.tile(np.eye(3), (2, 1, 1)))
        with pytest.raises(FormatError, match=r"w2c\[1\]: NaN"):
            read_camera_file(tmp_path / "nan.npz")
        np.savez(tmp_path / "other.npz", depth=np.zeros((2, 2)))
        with pytest.raises(FormatError, match="without GEN3C keys"):
            detect_format(tmp_path / "other.npz")
        (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04garbage")
        with pytest.raises(FormatError, match="trunc.npz"):
            read_camera_file(tmp_path / "trunc.npz", "gen3c")


# ---------------------------------------------------------------------------------------------------------------
# nerfstudio camera_path.json


class TestCameraPathJson:
    def test_viewer_export(self):
        cam = read_camera_file(DATA / "camera_path.json")
        assert detect_format(DATA / "camera_path.json") == "camera_path"
        assert (len(cam), cam.width, cam.height, cam.fps) == (3, 480, 320, 24.0)
        focal = 160 / np.tan(np.radians(25.0))
        np.testing.assert_allclose(cam.intrinsics[0], [focal, focal, 240, 160])
        np.testing.assert_allclose(
            cam.world_from_camera[0, :3, :3], np.diag([1.0, -1.0, -1.0])
        )  # OpenGL identity
        np.testing.assert_allclose(cam.centers[:, 2], [1.0, 0.75, 0.5])

    def test_round_trip(self, tmp_path):
        cam = random_path(5, fps=30.0)  # square pixels, centred principal point: what camera_path.json holds
        write_camera_file(tmp_path / "camera_path.json", cam, "camera_path")
        data = json.loads((tmp_path / "camera_path.json").read_text())
        assert len(data["camera_path"][0]["camera_to_world"]) == 16 and data["seconds"] == pytest.approx(
            5 / 30
        )
        back = read_camera_file(tmp_path / "camera_path.json")
        assert_same_path(back, cam)
        assert back.fps == 30.0

    def test_rejects_other_camera_types(self, tmp_path):
        data = json.loads((DATA / "camera_path.json").read_text())
        data["camera_type"] = "fisheye"
        (tmp_path / "fish.json").write_text(json.dumps(data))
        with pytest.raises(FormatError, match="unsupported camera type 'fisheye'"):
            read_camera_file(tmp_path / "fish.json")
        del data["camera_path"][1]["fov"]
        data["camera_type"] = "perspective"
        (tmp_path / "nofov.json").write_text(json.dumps(data))
        with pytest.raises(FormatError, match=r"camera_path\[1\]: missing key 'fov'"):
            read_camera_file(tmp_path / "nofov.json")


# ---------------------------------------------------------------------------------------------------------------
# COLMAP


class TestColmap:
    def test_model_built_with_pycolmap(self, tmp_path):
        rec = pycolmap.Reconstruction()
        rec.add_camera_with_trivial_rig(
            pycolmap.Camera(
                model="SIMPLE_RADIAL", width=64, height=48, params=[50.0, 32.0, 24.0, 0.01], camera_id=1
            )
        )
        cam = random_path(3)
        w2c = cam.camera_from_world
        for image_id, k in ((1, 2), (2, 0), (3, 1)):  # ids out of name order: frames follow the names
            image = pycolmap.Image(name=f"frame_{k:03d}.jpg", camera_id=1, image_id=image_id)
            rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(w2c[k, :3, :]))
        model = tmp_path / "scene" / "sparse" / "0"
        model.mkdir(parents=True)
        rec.write_text(str(model))
        assert detect_format(tmp_path / "scene") == "colmap"
        back = read_camera_file(tmp_path / "scene")
        np.testing.assert_allclose(back.world_from_camera, cam.world_from_camera, atol=1e-9)
        np.testing.assert_allclose(back.intrinsics, np.tile([50.0, 50.0, 32.0, 24.0], (3, 1)))
        assert back.meta["distortion_ignored"] == ["SIMPLE_RADIAL"]
        assert back.meta["images"] == ["frame_000.jpg", "frame_001.jpg", "frame_002.jpg"]

    @pytest.mark.parametrize("varying", [False, True])
    def test_round_trip(self, tmp_path, varying):
        cam = random_path(4, varying_intrinsics=varying)
        write_camera_file(tmp_path / "model", cam, "colmap")
        assert (tmp_path / "model" / "images.bin").is_file()
        assert_same_path(read_camera_file(tmp_path / "model"), cam)

    def test_empty_folder(self, tmp_path):
        with pytest.raises(FormatError, match="without a COLMAP model"):
            read_camera_file(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# Registry and detection


class TestRegistry:
    def test_formats(self):
        assert list(FORMATS) == [
            "transforms", "camera_path", "re10k", "gen3c", "gen3c_path", "gen3c_cameras", "ue", "colmap"
        ]  # fmt: skip

    @pytest.mark.parametrize("fmt", ["transforms", "camera_path", "re10k", "gen3c", "ue", "colmap"])
    def test_detects_content_not_extension(self, tmp_path, fmt):
        cam = random_path(3)
        out = tmp_path / "cameras.dat"
        write_camera_file(out, cam, fmt)
        assert detect_format(out) == fmt

    @pytest.mark.parametrize(
        ("name", "fmt"),
        [
            ("trajectory.json", "transforms"),
            ("my_camera_path.json", "camera_path"),
            ("camera_extrinsics.json", "ue"),
            ("pose.txt", "re10k"),
            ("camera.npz", "gen3c"),
            ("sparse0", "colmap"),
        ],
    )
    def test_output_format_from_name(self, name, fmt):
        assert guess_output_format(name) == fmt

    def test_unknown(self, tmp_path):
        (tmp_path / "notes.txt").write_text("hello\nworld\n")
        with pytest.raises(FormatError, match="cannot tell the camera format"):
            detect_format(tmp_path / "notes.txt")
        (tmp_path / "other.json").write_text('{"a": 1}')
        with pytest.raises(FormatError, match="no known camera layout"):
            detect_format(tmp_path / "other.json")
        with pytest.raises(FormatError, match="unknown camera format 'blender'"):
            read_camera_file(tmp_path / "other.json", "blender")
        with pytest.raises(FormatError, match="extension '.abc'"):
            guess_output_format("x.abc")

    def test_single_camera_formats_refuse_other_cameras(self, tmp_path):
        write_trajectory(tmp_path / "t.json", random_path(2))
        assert len(read_camera_file(tmp_path / "t.json", camera="1")) == 2
        with pytest.raises(FormatError, match="holds one camera"):
            read_camera_file(tmp_path / "t.json", camera="3")
        with pytest.raises(FormatError, match="holds one camera, got 2"):
            write_camera_file(tmp_path / "x.txt", {"a": random_path(2), "b": random_path(2)}, "re10k")

    def test_relative_option(self, tmp_path):
        cam = random_path(3)
        write_trajectory(tmp_path / "t.json", cam)
        rel = read_camera_file(tmp_path / "t.json", relative=True)
        np.testing.assert_allclose(rel.world_from_camera[0], np.eye(4), atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# CLI


class TestConvertCli:
    def test_ue_camera_to_trajectory(self, cli, tmp_path):
        out = tmp_path / "cam05.json"
        code, _, err = cli("convert", RECAMMASTER, out, "--camera", "5", "--fps", "15")
        assert code == 0, err
        assert "81 frames" in err and "ue" in err and "transforms" in err
        cam = read_trajectory(out)
        assert cam.fps == 15.0
        np.testing.assert_allclose(cam.centers[-1], [0, 0, 1.988], atol=1e-3)

    def test_ue_rig_to_ue(self, cli, tmp_path):
        out = tmp_path / "rig_camera_extrinsics.json"
        code, _, err = cli("convert", RECAMMASTER, out)
        assert code == 0, err
        assert "10 cameras" in err
        back, orig = read_camera_rig(out), read_camera_rig(RECAMMASTER)
        assert len(back) == 10 and sorted(back) == sorted(orig)
        for name, cam in orig.items():  # the same poses, camera by camera
            np.testing.assert_allclose(back[name].world_from_camera, cam.world_from_camera, atol=1e-9)

    def test_ambiguous_camera(self, cli, tmp_path):
        code, _, err = cli("convert", RECAMMASTER, tmp_path / "x.json")
        assert code == 1 and "cam01" in err and "--camera" in err

    def test_text_to_npz_and_back(self, cli, tmp_path):
        code, _, err = cli(
            "convert",
            DATA / "cameractrl_pose.txt",
            tmp_path / "camera.npz",
            "--width",
            "384",
            "--height",
            "256",
        )
        assert code == 0, err
        assert "re10k" in err and "gen3c" in err and "4 frames" in err
        code, _, err = cli("convert", tmp_path / "camera.npz", tmp_path / "out.txt", "--to", "re10k")
        assert code == 0, err
        a = read_camera_file(DATA / "cameractrl_pose.txt", width=384, height=256)
        b = read_camera_file(tmp_path / "out.txt", width=384, height=256)
        assert_same_path(a, b, tol=1e-8)

    def test_bad_input_exits_1(self, cli, tmp_path):
        (tmp_path / "bad.txt").write_text("https://xxx\n1 2 3\n")
        code, _, err = cli("convert", tmp_path / "bad.txt", tmp_path / "out.json")
        assert code == 1 and "line 2" in err
        code, _, err = cli("convert", tmp_path / "missing.json", tmp_path / "out.json")
        assert code == 1 and "no such file" in err
        code, _, err = cli("convert", DATA / "camera_path.json", tmp_path / "out.json", "--to", "blender")
        assert code == 1 and "unknown camera format" in err
