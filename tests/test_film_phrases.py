"""Film-set phrasing (issue 13): the words of commercial camera controls and film glossaries plan the move a
camera operator would make, checked on the planned path by numbers (signs: docs/CONVENTIONS.md, yaw > 0 pans
right, pitch > 0 tilts up, roll > 0 is clockwise, +z forward, up is -y)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith.errors import PlanError
from shotsmith.motion import build_path
from shotsmith.textplan import parse_text, plan_from_text

N = 81


def path(text: str, frames: int = N):
    return build_path(plan_from_text(text), frames)


def angles(cam) -> np.ndarray:
    """(N, 3) yaw, pitch, roll in degrees of every frame (motion.motion_pose's "YXZ" order)."""
    return Rotation.from_matrix(cam.rotations).as_euler("YXZ", degrees=True)


def focal(cam) -> np.ndarray:
    return cam.intrinsics[:, 0] / cam.intrinsics[0, 0]


def moving_frames(values: np.ndarray, tol: float = 1e-9) -> int:
    """Number of frame steps over which `values` (N,) change."""
    return int((np.abs(np.diff(values)) > tol).sum())


class TestFromTo:
    def test_pan_from_left_to_right_is_one_pan_right(self):
        cam = path("pan from left to right across the skyline")
        assert angles(cam)[-1] == pytest.approx([45.0, 0.0, 0.0], abs=1e-9)
        assert np.abs(cam.centers).max() < 1e-12  # a pan: the camera does not move
        assert np.all(np.diff(angles(cam)[:, 0]) >= -1e-12)  # rightward all the way, never back

    def test_the_other_way_and_other_sides(self):
        assert angles(path("pan from right to left"))[-1, 0] == pytest.approx(-45.0)
        assert angles(path("tilt from the floor to the ceiling"))[-1, 1] == pytest.approx(44.3, abs=0.1)
        assert angles(path("tilt from top to bottom"))[-1, 1] < -30.0
        np.testing.assert_allclose(path("move from left to right").centers[-1], [0.3, 0.0, 0.0], atol=1e-12)
        np.testing.assert_allclose(path("truck from right to left").centers[-1], [-0.3, 0.0, 0.0], atol=1e-12)

    def test_both_at_once_is_still_a_contradiction(self):
        with pytest.raises(PlanError, match="left and right at once"):
            parse_text("pans left and right")


class TestBackUp:
    def test_back_up_is_a_dolly_out_only(self):
        cam = path("back up slowly")
        np.testing.assert_allclose(cam.centers[-1], [0.0, 0.0, -0.24], atol=1e-12)  # 0.3 x slowly 0.8
        assert np.abs(cam.centers[:, :2]).max() == 0.0  # it does not rise
        assert np.abs(angles(cam)).max() < 1e-12

    @pytest.mark.parametrize("text", ["the camera backs up", "backs away from the subject", "backing off"])
    def test_spellings(self, text):
        np.testing.assert_allclose(path(text).centers[-1], [0.0, 0.0, -0.3], atol=1e-12)

    def test_back_after_a_verb_keeps_its_meaning(self):
        assert angles(path("the camera tilts back up"))[-1, 1] > 30.0  # up again: a tilt, no move
        np.testing.assert_allclose(path("pull back").centers[-1], [0.0, 0.0, -0.3], atol=1e-12)


class TestWhipAndCrash:
    def test_whip_pan_is_fast_between_holds(self):
        whip, plain = path("whip pan to the right"), path("pan right 67.5 degrees")
        yaw = angles(whip)[:, 0]
        assert yaw[-1] == pytest.approx(67.5)  # 45 x whip 1.5, to the right
        # hold (0.6), whip (0.4), hold (0.6): the pan takes a quarter of the shot
        assert moving_frames(yaw) <= 0.26 * (N - 1)
        assert np.abs(yaw[: int(0.37 * N)]).max() < 1e-9 and np.ptp(yaw[int(0.63 * N) :]) < 1e-9
        # strong ease: its fastest step is more than 4x that of a linear pan of the same size over the shot
        assert np.diff(yaw).max() > 4.0 * np.diff(angles(plain)[:, 0]).max()
        assert (
            whip.meta == {} and parse_text("whip pan to the right").segments[1].motion.ease == "ease_in_out"
        )

    def test_whip_pan_directions(self):
        assert angles(path("whip pan left"))[-1, 0] == pytest.approx(-67.5)
        assert angles(path("whip-pan"))[-1, 0] == pytest.approx(67.5)  # no direction: right
        assert angles(path("swish pan"))[-1, 0] == pytest.approx(67.5)

    def test_whip_in_a_sequence_is_short(self):
        parsed = parse_text("dolly in, then whip pan left")
        assert [s.weight for s in parsed.segments] == [1.0, 0.4]

    def test_crash_zoom_is_a_fast_zoom_in(self):
        cam = path("crash zoom")
        f = focal(cam)
        assert f[-1] == pytest.approx(2.25)  # 1.5 ** 2
        assert np.abs(cam.centers).max() == 0.0 and np.abs(angles(cam)).max() < 1e-12  # the lens only
        assert moving_frames(f) <= 0.26 * (N - 1)
        slow = focal(path("zoom in 2.25x"))
        assert np.diff(f).max() > 4.0 * np.diff(slow).max()
        assert focal(path("crash zoom out"))[-1] == pytest.approx(1 / 2.25)
        assert focal(path("snap zoom"))[-1] == pytest.approx(2.25)


class TestNamedMoves:
    @pytest.mark.parametrize("text", ["vertigo effect", "dolly zoom", "hitchcock zoom", "trombone shot"])
    def test_vertigo_keeps_the_subject_size(self, text):
        cam = path(text)
        z = cam.centers[:, 2]
        assert z[-1] == pytest.approx(0.4) and np.abs(cam.centers[:, :2]).max() == 0.0  # dolly in 0.4
        np.testing.assert_allclose(focal(cam), 1.0 - z, atol=1e-12)  # f / distance to the subject is constant
        assert focal(cam)[-1] == pytest.approx(0.6)  # the lens widens: the background grows

    def test_vertigo_out(self):
        cam = path("dolly zoom out")
        assert cam.centers[-1, 2] == pytest.approx(-0.4) and focal(cam)[-1] == pytest.approx(1.4)

    @pytest.mark.parametrize(
        ("text", "end"),
        [
            ("boom up", [0.0, -0.3, 0.0]),  # up is -y
            ("boom down", [0.0, 0.3, 0.0]),
            ("boom shot", [0.0, -0.3, 0.0]),  # a boom rises unless told
            ("strafe left", [-0.3, 0.0, 0.0]),
            ("strafe right", [0.3, 0.0, 0.0]),
            ("push in", [0.0, 0.0, 0.3]),
            ("pull out", [0.0, 0.0, -0.3]),
            ("push in slowly", [0.0, 0.0, 0.24]),
            ("fly through the doorway", [0.0, 0.0, 0.5]),  # a fly-through: forward, halfway to the subject
            ("fly-through", [0.0, 0.0, 0.5]),
            ("glide through the arch", [0.0, 0.0, 0.3]),
            ("reveal to the left", [-0.3, 0.0, 0.0]),  # a sideways reveal: truck
        ],
    )
    def test_translations_without_turning(self, text, end):
        cam = path(text)
        np.testing.assert_allclose(cam.centers[-1], end, atol=1e-12)
        assert np.abs(angles(cam)).max() < 1e-12 and focal(cam)[-1] == 1.0

    @pytest.mark.parametrize(
        ("text", "roll"),
        [("dutch angle", 20.0), ("dutch tilt", 20.0), ("canted angle", 20.0), ("dutch angle to the left", -20.0),
         ("dutch right 15 degrees", 15.0)],
    )  # fmt: skip
    def test_dutch_angle_rolls(self, text, roll):
        cam = path(text)
        assert angles(cam)[-1] == pytest.approx([0.0, 0.0, roll], abs=1e-9)  # roll > 0: clockwise
        assert np.abs(cam.centers).max() == 0.0

    def test_reveal_is_a_crane_up(self):
        cam = path("a slow reveal")
        assert cam.centers[-1, 1] == pytest.approx(-0.32)  # rises 0.4 x slow 0.8
        assert angles(cam)[-1, 1] < -10.0  # while tilting down to the subject
        subject = cam.camera_from_world[-1] @ np.array([0.0, 0.0, 1.0, 1.0])
        assert abs(subject[0]) < 1e-9 and abs(subject[1]) < 1e-9  # which stays centred

    def test_reveal_beside_a_motion_is_a_scene_phrase(self):
        parsed = parse_text("crane up to reveal the city")
        assert parsed.skipped == ["to reveal the city"] and parsed.segments[0].motion.crane == pytest.approx(
            0.4
        )
        with pytest.raises(PlanError, match="revealing the clouds"):
            parse_text("revealing the clouds and the sea")

    def test_through_alone_moves_no_camera(self):
        with pytest.raises(PlanError, match="a dog runs through the park"):
            parse_text("a dog runs through the park, the camera pans left")
