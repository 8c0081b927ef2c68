"""GenDoP motion labels, smoothing, captions and the motion-tag F1 (shotsmith.describe)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import describe as d
from shotsmith import formats, motion_tags
from shotsmith.camera import CameraPath, default_intrinsics, make_pose
from shotsmith.errors import InputError
from shotsmith.motion import Motion, Plan, Segment, build_path


def path_of(*motions: Motion, frames: int = 81, weights=None) -> CameraPath:
    weights = weights or [1.0] * len(motions)
    return build_path(Plan(tuple(Segment(m, w) for m, w in zip(motions, weights, strict=True))), frames)


def labels_of(cam: CameraPath) -> set[str]:
    return {d.label_name(v) for v in d.smooth_labels(d.frame_labels(cam))}


class TestLabelIndices:
    """GenDoP's index layout and its names against our sign conventions."""

    def test_layout(self):
        assert d.TRANS_NAMES[1] == "move backward" and d.TRANS_NAMES[2] == "move forward"
        assert d.TRANS_NAMES[9] == "move right" and d.TRANS_NAMES[18] == "move left"
        assert d.TRANS_NAMES[3] == "move up" and d.TRANS_NAMES[6] == "move down"
        assert d.TRANS_NAMES[26] == "move left, down, and forward"
        assert d.label_of("move forward+yaw right") == 2 * 7 + 4
        assert len(d.LABEL_OF_NAME) == d.NUM_CLASSES == 189

    @pytest.mark.parametrize(
        ("motion", "label"),
        [
            (Motion(yaw_deg=60), 4),  # pan right = GenDoP "yaw right"
            (Motion(yaw_deg=-60), 3),
            (Motion(pitch_deg=60), 1),  # tilt up = "pitch up"
            (Motion(pitch_deg=-60), 2),
            (Motion(roll_deg=60), 6),  # clockwise = "roll right"
            (Motion(roll_deg=-60), 5),
            (Motion(move=(0, 0, 0.3)), 2 * 7),  # dolly in = "move forward"
            (Motion(move=(0, 0, -0.3)), 1 * 7),
            (Motion(move=(0.3, 0, 0)), 9 * 7),
            (Motion(move=(-0.3, 0, 0)), 18 * 7),
            (Motion(move=(0, -0.3, 0)), 3 * 7),  # -y is up in OpenCV
            (Motion(move=(0, 0.3, 0)), 6 * 7),
            (Motion(move=(-0.3, 0, 0.3)), 20 * 7),  # "move left and forward"
            (Motion(orbit_deg=45), 9 * 7 + 3),  # orbit right: moves right while yawing left
            (Motion(), 0),
        ],
    )
    def test_pure_motions(self, motion, label):
        labels = d.frame_labels(path_of(motion))
        assert labels.shape == (80,)
        assert np.all(labels == label), d.label_name(int(np.bincount(labels).argmax()))

    def test_frame_count_and_fps_do_not_matter(self):
        for frames in (25, 81, 120, 241):
            assert labels_of(path_of(Motion(yaw_deg=50), Motion(move=(0.3, 0, 0)), frames=frames)) == {
                "yaw right",
                "move right",
            }

    def test_thresholds_per_shot(self):
        assert d.static_turn_per_shot_deg() == pytest.approx(34.09, abs=0.01)
        assert d.static_move_per_shot() == pytest.approx(0.0793, abs=1e-4)
        assert labels_of(path_of(Motion(yaw_deg=30))) == {"static"}
        assert labels_of(path_of(Motion(yaw_deg=40))) == {"yaw right"}
        assert labels_of(path_of(Motion(move=(0.05, 0, 0)))) == {"static"}
        assert labels_of(path_of(Motion(move=(0.12, 0, 0)))) == {"move right"}

    def test_tiny_noise_is_static(self):
        rng = np.random.default_rng(0)
        n = 81
        rot = Rotation.from_rotvec(rng.normal(0, 1e-5, (n, 3))).as_matrix()
        mats = make_pose(rot, rng.normal(0, 1e-5, (n, 3)))
        cam = CameraPath(mats, default_intrinsics(64, 48), 64, 48, 16.0)
        assert np.all(d.frame_labels(cam) == 0)

    def test_dominance_drops_weaker_axis(self):
        assert labels_of(path_of(Motion(move=(0.3, 0, 0.1)))) == {"move right"}
        assert labels_of(path_of(Motion(move=(0.3, 0, 0.25)))) == {"move right and forward"}
        assert labels_of(path_of(Motion(yaw_deg=60, pitch_deg=40))) == {"yaw right"}

    def test_one_frame_has_no_labels(self):
        assert d.frame_labels(path_of(Motion(yaw_deg=10), frames=1)).shape == (0,)


class TestSmoothing:
    def test_blip_removed(self):
        arr = np.array([0] * 20 + [5] * 3 + [0] * 20)
        assert np.all(d.smooth_labels(arr) == 0)

    def test_at_most_four_segments(self):
        arr = np.repeat([1, 2, 3, 4, 5, 6, 7], 12)
        out = d.smooth_labels(arr)
        assert out.shape == arr.shape and d.count_segments(out) <= 4

    def test_clean_segments_unchanged(self):
        arr = np.repeat([0, 63, 18], [20, 30, 30])
        assert np.array_equal(d.smooth_labels(arr), arr)

    def test_mode_ties_take_smallest(self):
        assert motion_tags._mode_filter(np.array([3, 3, 1, 1]), 3)[0] == 3
        assert motion_tags._mode_filter(np.array([3, 1, 1, 3]), 4).tolist() == [1, 1, 1, 1]

    def test_merge_short_splits_middle(self):
        arr = np.array([0] * 12 + [7] * 5 + [14] * 12)
        out = motion_tags._merge_short(arr, 10)
        assert out.tolist() == [0] * 15 + [14] * 14


class TestF1:
    def test_identical_is_one(self):
        cam = path_of(Motion(yaw_deg=50), Motion(move=(0, 0, 0.3)))
        assert d.trajectory_f1(cam, cam) == 1.0

    def test_pan_left_vs_right_is_zero(self):
        assert d.trajectory_f1(path_of(Motion(yaw_deg=-50)), path_of(Motion(yaw_deg=50))) == 0.0

    def test_known_value(self):
        # class 0: p=1, r=.5, f1=2/3; class 1: p=2/3, r=1, f1=.8; weighted by support 2/2.
        assert d.motion_tag_f1([0, 1, 1, 1], [0, 0, 1, 1]) == pytest.approx((2 / 3 + 0.8) / 2)

    def test_lengths_resampled(self):
        assert d.motion_tag_f1([4] * 40 + [2] * 40, [4] * 60 + [2] * 60) == 1.0

    def test_empty_raises(self):
        with pytest.raises(InputError):
            d.motion_tag_f1([], [1, 2])

    def test_half_matching(self):
        a = path_of(Motion(yaw_deg=50), Motion(move=(0, 0, 0.3)))
        b = path_of(Motion(yaw_deg=50), Motion(move=(0, 0, -0.3)))
        assert 0.3 < d.trajectory_f1(a, b) < 0.7


class TestCaption:
    def test_gendop_style(self):
        cam = path_of(
            Motion(),
            Motion(move=(0.3, 0, 0)),
            Motion(move=(0, 0, 0.3), yaw_deg=20),
            Motion(move=(-0.3, 0, 0.3), yaw_deg=20),
            weights=[0.6, 1, 1, 1],
        )
        assert d.describe(cam) == (
            "The camera remains static, then moves right, followed by moving forward while yawing right, "
            "and finally moving left and forward while continuing to yaw right."
        )

    def test_single_and_zoom(self):
        assert d.describe(path_of(Motion(pitch_deg=50))) == "The camera pitches up."
        assert d.describe(path_of(Motion(zoom=2.0))).startswith(
            "The camera remains static. The lens zooms in"
        )

    def test_segments(self):
        segs = d.segments(path_of(Motion(yaw_deg=-50), Motion(move=(0, -0.3, 0))))
        assert [s["name"] for s in segs] == ["yaw left", "move up"]
        assert segs[0]["start_frame"] == 0 and segs[-1]["end_frame"] == 80
        assert segs[1]["phrase"] == "moves up"
        json.dumps(segs)


class TestText:
    def test_text_labels(self):
        labels = d.text_labels("pan left, then dolly in", 81)
        assert labels.shape == (80,)
        assert [d.label_name(s.label) for s in d.label_segments(labels)] == ["yaw left", "move forward"]

    def test_text_f1(self):
        from shotsmith.textplan import plan_from_text

        text = "The camera moves left while yawing right, then tilts up."
        assert d.text_f1(text, build_path(plan_from_text(text), 81)) > 0.9
        assert d.text_f1(text, path_of(Motion(yaw_deg=-50))) < 0.2


def test_cli_describe(tmp_path, cli):
    path = tmp_path / "trajectory.json"
    formats.write_trajectory(path, path_of(Motion(yaw_deg=50), Motion(move=(0, 0, 0.3))))
    code, out, _ = cli("describe", path)
    assert code == 0
    assert out.strip() == "The camera yaws right, then moves forward."
    code, out, _ = cli("describe", path, "--json")
    assert code == 0
    payload = json.loads(out)
    assert [s["name"] for s in payload["segments"]] == ["yaw right", "move forward"]
    code, _, err = cli("describe", tmp_path / "missing.json")
    assert code == 1
