"""Evaluation: CamI2V metrics and aligned errors (known values), pycolmap on a synthetic room, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import evaluate as ev
from shotsmith import formats
from shotsmith.camera import CameraPath, default_intrinsics, make_pose
from shotsmith.errors import InputError


def line_path(n: int, yaw_deg: float = 0.0, move=(0.0, 0.0, 0.0)) -> np.ndarray:
    """(n, 4, 4) constant-speed path: yaw about +y and a straight move, from the identity."""
    s = np.linspace(0.0, 1.0, n)
    rot = Rotation.from_euler("y", (yaw_deg * s)[:, None], degrees=True).as_matrix()
    return make_pose(rot, s[:, None] * np.asarray(move, float))


def camera(mats: np.ndarray, width: int = 320, height: int = 240, fps: float = 16.0) -> CameraPath:
    return CameraPath(mats, default_intrinsics(width, height), width, height, fps)


# ---------------------------------------------------------------------------------------------------------------
# CamI2V metrics


class TestCamI2VMetrics:
    def test_zero_for_the_plan_itself(self):
        p = line_path(16, 30, (0.5, 0, 0.2))
        m = ev.pose_metrics(p, p)
        assert m.rot_err == pytest.approx(0, abs=1e-6)
        assert m.trans_err == pytest.approx(0, abs=1e-9)
        assert m.cam_mc == pytest.approx(0, abs=1e-6)
        assert m.ate == pytest.approx(0, abs=1e-9)
        assert m.rpe_rot_deg == pytest.approx(0, abs=1e-4) and m.rpe_trans == pytest.approx(0, abs=1e-9)
        assert m.frames == m.total_frames == 16 and m.registered_fraction == 1.0

    def test_rot_err_is_a_sum_in_radians(self):
        n, theta = 10, 0.02
        p = line_path(n, 0, (1, 0, 0))
        e = p.copy()
        e[1:, :3, :3] = Rotation.from_euler("x", theta).as_matrix() @ e[1:, :3, :3]
        assert ev.rot_err(p, e) == pytest.approx((n - 1) * theta, rel=1e-6)
        m = ev.pose_metrics(p, e)
        assert m.rot_err_per_frame == pytest.approx((n - 1) * theta / n, rel=1e-6)
        assert m.per_frame_rot_err[0] == 0.0

    def test_trans_err_normalises_each_path_by_itself(self):
        p = line_path(8, 10, (0.3, 0, 0.1))
        e = p.copy()
        e[:, :3, 3] *= 7.5  # SfM scale is arbitrary: no error (up to the 1e-9 guard)
        assert ev.trans_err(p, e) == pytest.approx(0, abs=1e-7)
        assert ev.cam_mc(p, e) == pytest.approx(0, abs=1e-7)

    def test_trans_err_and_cam_mc_known_values(self):
        n = 5
        p = line_path(n, 0, (1, 0, 0))
        e = line_path(n, 0, (0, 0, 2))
        expected = sum(math.sqrt(2) * k / (n - 1) for k in range(n))
        assert ev.trans_err(p, e) == pytest.approx(expected, rel=1e-6)
        assert ev.cam_mc(p, e) == pytest.approx(expected, rel=1e-6)  # identical rotations
        # normalize_t: the largest translation becomes 1 (+1e-9)
        assert np.linalg.norm(ev.normalize_translations(e)[:, :3, 3], axis=1).max() == pytest.approx(1.0)

    def test_registered_frames_only(self):
        p = line_path(10, 20, (0.5, 0, 0))
        e = p.copy()
        reg = np.ones(10, bool)
        reg[[3, 7]] = False
        e[~reg] = np.nan
        m = ev.pose_metrics(p, e, reg)
        assert m.frames == 8 and m.total_frames == 10 and m.registered_fraction == pytest.approx(0.8)
        assert m.rot_err == pytest.approx(0, abs=1e-6)

    def test_relative_to_first_registered_frame(self):
        p = line_path(6, 20, (0.5, 0, 0))
        world = make_pose(
            Rotation.from_euler("xyz", [10, -40, 5], degrees=True).as_matrix(), [3.0, -1.0, 2.0]
        )
        e = world @ p  # the same path in another world frame (SfM's)
        m = ev.pose_metrics(p, e)
        assert m.rot_err == pytest.approx(0, abs=1e-6) and m.trans_err == pytest.approx(0, abs=1e-6)
        reg = np.array([False, True, True, True, True, True])  # frame 0 lost: relative to frame 1
        e[0] = np.nan
        m = ev.pose_metrics(p, e, reg)
        assert (
            m.frames == 5
            and m.rot_err == pytest.approx(0, abs=1e-6)
            and m.trans_err == pytest.approx(0, abs=1e-6)
        )

    def test_pure_rotation_plan_has_no_translation_measures(self):
        p = line_path(6, 30)
        m = ev.pose_metrics(p, p)
        assert m.ate is None and m.rpe_trans is None and m.rot_err == pytest.approx(0, abs=1e-6)

    def test_needs_two_registered_frames(self):
        p = line_path(4, 10, (1, 0, 0))
        with pytest.raises(InputError, match="2 registered"):
            ev.pose_metrics(p, p, np.array([True, False, False, False]))


class TestAlignment:
    def test_umeyama_recovers_a_known_sim3(self):
        rng = np.random.default_rng(3)
        src = rng.normal(size=(20, 3))
        rot = Rotation.from_rotvec([0.3, -0.8, 0.5]).as_matrix()
        dst = 2.5 * src @ rot.T + np.array([1.0, -2.0, 0.5])
        sim = ev.umeyama(src, dst)
        assert sim.scale == pytest.approx(2.5, rel=1e-9)
        np.testing.assert_allclose(sim.rotation, rot, atol=1e-9)
        np.testing.assert_allclose(sim.translation, [1.0, -2.0, 0.5], atol=1e-9)
        np.testing.assert_allclose(sim.apply_points(src), dst, atol=1e-9)

    def test_umeyama_rejects_degenerate_input(self):
        with pytest.raises(InputError):
            ev.umeyama(np.zeros((5, 3)), np.ones((5, 3)))

    def test_ate_and_rpe_ignore_a_similarity(self):
        p = line_path(12, 25, (0.4, -0.1, 0.3))
        world = make_pose(Rotation.from_rotvec([0.2, 0.4, -0.1]).as_matrix(), [2.0, 0.0, -1.0])
        e = world @ p
        e[:, :3, 3] *= 3.0
        m = ev.pose_metrics(p, e)
        assert m.ate == pytest.approx(0, abs=1e-9)
        assert m.sim3_scale == pytest.approx(1 / 3.0, rel=1e-6)
        assert m.rpe_rot_deg == pytest.approx(0, abs=1e-4) and m.rpe_trans == pytest.approx(0, abs=1e-9)

    def test_straight_line_keeps_orientations(self):
        # collinear centres leave Umeyama's rotation about the line free: orientations decide it
        p = line_path(8, 30, (0.5, 0, 0))
        world = make_pose(Rotation.from_rotvec([0.4, -0.2, 0.9]).as_matrix(), [1.0, 2.0, 3.0])
        e = world @ p
        e[:, :3, 3] *= 0.3
        aligned, sim = ev.aligned_estimate(p, e, np.ones(8, bool))
        np.testing.assert_allclose(aligned, p, atol=1e-9)
        assert sim.scale == pytest.approx(1 / 0.3)

    def test_ate_known_value(self):
        # centres (0,0,0), (1,0,0), (2,0,0) vs estimate with the middle one off by d in y: Umeyama keeps the line
        p = line_path(3, 0, (2, 0, 0))
        e = p.copy()
        e[1, 1, 3] = 0.3
        m = ev.pose_metrics(p, e)
        assert 0 < m.ate < 0.3 / 2  # in units of the plan's extent (2)

    def test_rpe_rotation_per_pair(self):
        p = line_path(5, 0, (1, 0, 0))
        e = p.copy()
        e[2:, :3, :3] = Rotation.from_euler("z", 2, degrees=True).as_matrix()
        rot, _ = ev.relative_pose_errors(p, e)
        np.testing.assert_allclose(rot, [0, 2, 0, 0], atol=1e-6)

    def test_summarize(self):
        s = ev.summarize([1.0, 3.0, None, 2.0, float("nan")])
        assert s == {"median": 2.0, "min": 1.0, "max": 3.0, "q1": 1.5, "q3": 2.5, "n": 3}
        assert ev.summarize([None])["median"] is None


def test_frames_for_sift_are_written_grey_exactly_as_colmap_reads_colour(tmp_path):
    """SfM's scratch frames are grey BMPs (a third of the bytes): the very pixels COLMAP's reader makes of the
    colour frame before SIFT, so the features are the same (2^20 colours here; all 2^24 were checked once)."""
    import pycolmap
    from PIL import Image

    from shotsmith.evaluate.sfm import write_frames

    c = np.random.default_rng(0).integers(0, 1 << 24, 1 << 20, dtype=np.uint32)
    c[:256] = np.arange(256, dtype=np.uint32) * 0x010101  # the greys
    every = (
        np.stack([(c >> 16) & 255, (c >> 8) & 255, c & 255], -1).astype(np.uint8).reshape(1, 1024, 1024, 3)
    )
    Image.fromarray(every[0]).save(tmp_path / "colour.bmp")
    (name,) = write_frames(every, tmp_path / "frames")
    grey = np.asarray(Image.open(tmp_path / "frames" / name))
    colmap = pycolmap.Bitmap.read(str(tmp_path / "colour.bmp"), False).to_array().reshape(grey.shape)
    assert grey.ndim == 2 and np.array_equal(grey, colmap)


def test_single_focal_notes_and_checks():
    f, cx, cy, notes = ev.single_focal(np.array([[300.0, 300.0, 160, 120]]))
    assert (f, cx, cy, notes) == (300.0, 160.0, 120.0, [])
    _, _, _, notes = ev.single_focal(np.array([[300.0, 330.0, 160, 120], [400.0, 400.0, 160, 120]]))
    assert len(notes) == 2
    with pytest.raises(InputError, match="fx > 10"):
        ev.single_focal(np.array([0.8, 0.8, 0.5, 0.5]))


def test_box_room_renders_texture():
    frames = ev.render_box_room(camera(line_path(2, 10, (0.1, 0, 0)), 64, 48))
    assert frames.shape == (2, 48, 64, 3) and frames.dtype == np.uint8
    assert frames.std() > 20 and not np.array_equal(frames[0], frames[1])


# ---------------------------------------------------------------------------------------------------------------
# pycolmap on a synthetic room

N_FRAMES = 12
PAN_DEG = 45.0
TRUCK = 0.5


@pytest.fixture(scope="module")
def room_video():
    """A truck-right + pan-right shot through the textured room, its plan, and the estimate (one SfM run)."""
    plan = camera(line_path(N_FRAMES, PAN_DEG, (TRUCK, 0, 0)))
    frames = ev.render_box_room(plan)
    report = ev.evaluate_video(
        frames, plan, ev.SfmOptions(), trials=1, text="truck right while panning right"
    )
    return plan, frames, report


@pytest.mark.slow  # the room_video SfM run: ~5 s
class TestSyntheticRoom:
    def test_recovers_the_path(self, room_video):
        plan, _, report = room_video
        assert report.ok_trials == 1, report.notes
        row = report.trials[0]
        m = row["metrics"]
        assert row["registered_fraction"] == 1.0
        assert m.rot_err_per_frame < 0.01
        assert max(m.per_frame_rot_err) < 0.01
        assert m.ate < 0.05 and m.rpe_rot_deg < 0.5
        assert row["reprojection_error_px"] < 1.0
        assert report.summary["rot_err"]["median"] == pytest.approx(m.rot_err)
        # parallax: the rotation-only model was checked and rejected, the SfM estimate stays
        assert row["model"] == "sfm" and not row["rotation_model"]["fits"]
        assert row["rotation_model"]["median_rotation_error_px"] > 2.0

    def test_motion_tag_f1(self, room_video):
        _, _, report = room_video
        assert report.trials[0]["motion_tag_f1_vs_plan"] >= 0.9

    def test_a_different_path_scores_far_worse(self, room_video):
        plan, _, report = room_video
        trial = report.representative
        good = ev.pose_metrics(plan.world_from_camera, trial.world_from_camera, trial.registered)
        mirrored = line_path(N_FRAMES, -PAN_DEG, (-TRUCK, 0, 0))  # pan left + truck left
        bad = ev.pose_metrics(mirrored, trial.world_from_camera, trial.registered)
        assert bad.rot_err > 10 * good.rot_err
        assert bad.trans_err > 10 * good.trans_err
        assert bad.cam_mc > 10 * good.cam_mc
        assert bad.rpe_rot_deg > 10 * good.rpe_rot_deg
        assert bad.ate > 10 * good.ate  # a straight move: aligned by the orientations, so mirroring shows

    def test_estimate_path_is_in_plan_units(self, room_video):
        plan, _, report = room_video
        est, ref = ev.estimate_path(plan, report.representative)
        assert len(est) == len(ref) == N_FRAMES
        np.testing.assert_allclose(est.centers, ref.centers, atol=0.05 * TRUCK)


# ---------------------------------------------------------------------------------------------------------------
# Rotation-only model (pan, tilt, roll: no parallax)


def test_pair_rotation_recovers_r_j_from_i():
    """H maps frame-i pixels to frame-j pixels with R_{j<-i} = camera_from_world_j @ world_from_camera_i."""
    k = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
    world_from_i = Rotation.from_euler("xyz", [3, -10, 2], degrees=True).as_matrix()
    world_from_j = Rotation.from_euler("xyz", [5, 4, -6], degrees=True).as_matrix()
    r_ji = world_from_j.T @ world_from_i
    rng = np.random.default_rng(0)
    rays_i = np.c_[rng.uniform(-0.4, 0.4, (400, 2)), np.ones(400)]
    pix_i = rays_i @ k.T
    pix_j = (rays_i @ r_ji.T) @ k.T
    pix_i, pix_j = pix_i[:, :2] / pix_i[:, 2:], pix_j[:, :2] / pix_j[:, 2:]
    pix_j[:40] += rng.uniform(-50, 50, (40, 2))  # 10% outliers
    pr = ev.pair_rotation(pix_i, pix_j + rng.normal(0, 0.2, pix_j.shape), k)
    assert pr is not None and pr.usable
    assert math.degrees(ev.rotation_angles(pr.rotation[None], r_ji[None])[0]) < 0.05
    assert pr.rot_error_px < 0.5 and 0.85 < pr.rot_inliers / pr.matches < 0.95 and pr.sv_spread < 0.01


def test_rotation_model_replaces_trials_by_the_rules():
    n = 6
    poses = np.tile(np.eye(4), (n, 1, 1))

    def fit(ok, no_parallax):
        return ev.RotationFit(ok, no_parallax, np.ones(n, bool), poses, "fits" if ok else "parallax")

    def trial(registered):
        reg = np.arange(n) < registered
        return ev.SfmTrial(0, registered >= 2, reg, np.where(reg[:, None, None], poses, np.nan))

    # SfM failed: the rotation model takes over when it fits; with parallax the failure stays, with both reasons
    (t,) = ev.apply_rotation_model([trial(0)], fit(True, False))
    assert t.model == "rotation-only" and t.ok and "registered 0/6" in t.model_reason and t.sfm["ok"] is False
    (t,) = ev.apply_rotation_model([trial(0)], fit(False, False))
    assert t.model == "sfm" and not t.ok and "parallax" in t.error
    # SfM succeeded: replaced only when the video shows no measurable parallax
    (t,) = ev.apply_rotation_model([trial(6)], fit(True, False))
    assert t.model == "sfm" and t.rotation_fit["fits"]
    (t,) = ev.apply_rotation_model([trial(6)], fit(True, True))
    assert t.model == "rotation-only" and "no measurable parallax" in t.model_reason


PAN_FRAMES = 14
PAN_YAW = 45.0  # GenDoP labels a whole-shot turn under 34 degrees "static": 20 degrees would make F1 trivial


@pytest.fixture(scope="module")
def pan_video():
    """A pure pan right of 45 degrees from a fixed centre (no parallax: SfM cannot measure it)."""
    plan = camera(line_path(PAN_FRAMES, PAN_YAW))
    report = ev.evaluate_video(ev.render_box_room(plan), plan, text="pan right")
    return plan, report


@pytest.mark.slow  # the pan_video SfM run ~5 s, test_roll's own ~5 s
class TestRotationOnly:
    def test_pan_is_measured_by_the_rotation_model(self, pan_video):
        _, report = pan_video
        assert report.ok_trials == 1, report.notes
        row = report.trials[0]
        m = row["metrics"]
        assert row["model"] == "rotation-only" and "fits a pure rotation" in row["model_reason"]
        assert row["registered_fraction"] == 1.0
        assert m.rot_err_per_frame < 0.01 and max(m.per_frame_rot_err) < 0.01  # measured: ~1e-4 rad
        assert m.trans_err == 0.0 and "zero translation" in row["translation_metrics"]
        assert row["rotation_model"]["median_rotation_error_px"] < 0.5
        assert any(n.startswith("rotation-only model in 1 of 1") for n in report.notes)
        est, _ = ev.estimate_path(pan_video[0], report.representative)
        assert np.abs(est.centers).max() == 0.0
        # no parallax: the mapper, whose result the rotation model would replace, is not run at all
        assert "the mapper was not run" in row["model_reason"] and row["sfm"]["error"].startswith("not run")

    def test_pan_motion_tag_f1(self, pan_video):
        _, report = pan_video
        assert report.trials[0]["motion_tag_f1_vs_plan"] >= 0.9
        assert report.trials[0]["motion_tag_f1_vs_text"] >= 0.9

    def test_the_mirrored_pan_scores_far_worse(self, pan_video):
        plan, report = pan_video
        trial = report.representative
        good = report.trials[0]["metrics"]
        bad = ev.pose_metrics(line_path(PAN_FRAMES, -PAN_YAW), trial.world_from_camera, trial.registered)
        assert bad.rot_err > 10 * good.rot_err and bad.rpe_rot_deg > 10 * good.rpe_rot_deg
        assert bad.rot_err_per_frame > 0.1  # ~0.35 rad: twice the pan on average

    def test_a_moving_plan_has_translation_not_measurable(self, pan_video):
        _, report = pan_video
        moving = line_path(PAN_FRAMES, PAN_YAW, (0.5, 0, 0))  # the plan trucks, the video only pans
        m, why = ev.rotation_only_metrics(moving, report.representative)
        assert m.trans_err is None and m.cam_mc is None and m.ate is None and m.rpe_trans is None
        assert why.startswith("not measurable") and m.rot_err_per_frame < 0.01
        tiny = line_path(PAN_FRAMES, PAN_YAW, (0.005, 0, 0))  # under 1% of the subject distance: zero
        m, why = ev.rotation_only_metrics(tiny, report.representative)
        assert m.trans_err == 0.0 and "taken as zero" in why

    def test_roll(self):
        # roll clockwise 60 degrees (about +z) over 10 frames at 256x192
        s = np.linspace(0.0, 1.0, 10)
        mats = make_pose(
            Rotation.from_euler("z", 60 * s[:, None], degrees=True).as_matrix(), np.zeros((10, 3))
        )
        plan = camera(mats, 256, 192)
        report = ev.evaluate_video(ev.render_box_room(plan), plan, ev.SfmOptions(max_num_features=2048))
        row = report.trials[0]
        assert row["model"] == "rotation-only" and row["registered_fraction"] == 1.0
        assert max(row["metrics"].per_frame_rot_err) < 0.01
        assert row["motion_tag_f1_vs_plan"] >= 0.9
        mirror = make_pose(
            Rotation.from_euler("z", -60 * s[:, None], degrees=True).as_matrix(), np.zeros((10, 3))
        )
        bad = ev.pose_metrics(
            mirror, report.representative.world_from_camera, report.representative.registered
        )
        assert bad.rot_err > 10 * row["metrics"].rot_err


def test_textureless_video_is_a_failed_trial():
    plan = camera(line_path(4, 10, (0.2, 0, 0)), 64, 48)
    frames = np.full((4, 48, 64, 3), 128, np.uint8)
    report = ev.evaluate_video(frames, plan, trials=2)
    assert report.ok_trials == 0 and report.representative is None
    assert all(not t["ok"] and t["error"] for t in report.trials)
    assert report.summary["rot_err"]["n"] == 0
    assert any("2 of 2 trials failed" in n for n in report.notes)


def test_missing_pycolmap_gives_the_install_hint(monkeypatch):
    import builtins

    from shotsmith.errors import BackendUnavailable

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pycolmap":
            raise ImportError("No module named 'pycolmap'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(BackendUnavailable, match=r"shotsmith\[eval\]"):
        ev.estimate_poses(np.zeros((2, 8, 8, 3), np.uint8), np.array([10.5, 10.5, 4, 4]))


# ---------------------------------------------------------------------------------------------------------------
# Stage and CLI


def test_fit_plan_resamples_with_a_note_or_fails_when_strict():
    from shotsmith.stages.evaluate import fit_plan

    plan = camera(line_path(9, 20, (0.5, 0, 0)))
    fitted, notes = fit_plan(plan, 13, 320, 240, strict=False)
    assert len(fitted) == 13 and "resampled from 9 to 13" in notes[0]
    with pytest.raises(InputError, match="--strict"):
        fit_plan(plan, 13, 320, 240, strict=True)
    resized, notes = fit_plan(plan, 9, 640, 480, strict=False)
    assert resized.intrinsics[0, 0] == pytest.approx(2 * plan.intrinsics[0, 0]) and "rescaled" in notes[0]


@pytest.mark.slow  # ~8 s: two SfM runs through the CLI
def test_evaluate_cli_workspace_and_standalone(tmp_path, cli):
    """The room seen along a plan in a workspace (10 frames; trajectory.json has 19): metrics, plot, reruns."""
    from shotsmith.camera import resample
    from shotsmith.media import write_video
    from shotsmith.workspace import EVAL_METRICS, EVAL_PLOT, OUTPUT_VIDEO, TRAJECTORY, Workspace

    ws = Workspace(tmp_path / "ws").create()
    plan = camera(line_path(10, PAN_DEG, (TRUCK, 0, 0)), 256, 192)
    ws.path(OUTPUT_VIDEO).parent.mkdir(parents=True)
    write_video(ws.path(OUTPUT_VIDEO), ev.render_box_room(plan), fps=16, quality=9)
    formats.write_trajectory(ws.path(TRAJECTORY), resample(plan, 19))  # resampled to the video, with a note
    ws.update_request(prompt="a textured room, truck right while panning right")
    code, _, err = cli("evaluate", "-w", ws.root, "--trials", "2")
    assert code == 0, err

    data = json.loads(ws.path(EVAL_METRICS).read_text())
    assert data["ok"] and data["frames"] == 10 and data["ok_trials"] == 2 and len(data["trials"]) == 2
    assert data["metrics"]["rot_err_per_frame"] < 0.01
    assert data["metrics"]["registered_fraction"] == 1.0
    assert set(data["summary"]["rot_err"]) == {"median", "min", "max", "q1", "q3", "n"}
    assert data["summary"]["rot_err"]["n"] == 2
    assert any("resampled from 19 to 10" in n for n in data["notes"])
    assert data["versions"]["pycolmap"] and data["versions"]["shotsmith"]
    assert data["protocol"]["camera"].startswith("one SIMPLE_PINHOLE")
    assert data["clip"]["skipped"]
    assert data["text"].startswith("a textured room")
    assert ws.path(EVAL_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ws.record("evaluate").status == "ok"
    # unchanged: skipped; --strict with a mismatched plan: a one-line error, exit 1
    code, _, err = cli("evaluate", "-w", ws.root, "--trials", "2")
    assert code == 0 and "unchanged" in err
    code, _, err = cli("evaluate", "-w", ws.root, "--strict")
    assert code == 1 and "--strict" in err

    # standalone: any video and camera file, output folder of its own
    out = tmp_path / "out"
    args = ("evaluate", ws.path(OUTPUT_VIDEO), "--trajectory", ws.path(TRAJECTORY), "-o", out)
    code, stdout, err = cli(*args, "--mapper", "incremental", "--max-features", "1024")
    assert code == 0, err
    data = json.loads((out / "metrics.json").read_text())
    assert data["options"]["mapper"] == "incremental" and "incremental" in data["protocol"]["mapper"]
    assert (out / "trajectory_vs_estimate.png").exists()
    assert (out / "trajectory_vs_estimate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["frames"] == 10  # the incremental mapper may not register this short pan (docs/EVALUATION.md)
    assert str(out) in stdout


def test_evaluate_usage_errors(cli, tmp_path):
    code, _, err = cli("evaluate")
    assert code == 1 and "--trajectory" in err
    code, _, err = cli("evaluate", "-w", tmp_path, "--trials", "0")
    assert code == 1 and "--trials" in err
    code, _, err = cli("evaluate", "-w", tmp_path / "empty")
    assert code == 1 and "missing" in err
