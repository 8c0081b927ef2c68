"""Presets move the camera as their names say (signs and sizes of the last frame in the first camera's frame),
compose at once and in sequence, and the compatibility sets reproduce their seeds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import formats
from shotsmith.camera import EASINGS, rotation_angles_deg
from shotsmith.errors import InputError, PresetError
from shotsmith.presets import list_presets, parse_size, path_from_spec, plan_from_spec

RECAMMASTER_FILE = Path(__file__).parent / "data" / "formats" / "recammaster_10basic_camera_extrinsics.json"
SUBJECT = np.array([0.0, 0.0, 1.0, 1.0])


def _path(spec, n=21, **kw):
    return path_from_spec(spec, frames=n, width=64, height=48, **kw)


def _end(spec, **kw):
    cam = _path(spec, **kw)
    return cam, cam.world_from_camera[-1]


def _forward(m):
    return m[:3, :3] @ np.array([0.0, 0.0, 1.0])


def _angle(m):
    return math.degrees(Rotation.from_matrix(m[:3, :3]).magnitude())


def _in_camera(m, point=SUBJECT):
    return (np.linalg.inv(m) @ point)[:3]


class TestVocabulary:
    def test_every_preset_builds_from_identity(self):
        for info in list_presets():
            cam = _path(info.name)
            assert np.allclose(cam.world_from_camera[0], np.eye(4), atol=1e-12), info.name
            assert info.description

    @pytest.mark.parametrize("name,sign", [("pan_left", -1), ("pan_right", 1)])
    def test_pan(self, name, sign):
        cam, end = _end(name)
        assert np.sign(_forward(end)[0]) == sign and np.allclose(end[:3, 3], 0)
        assert _angle(end) == pytest.approx(20.0)
        assert np.allclose(cam.intrinsics, cam.intrinsics[0])

    @pytest.mark.parametrize("name,sign", [("tilt_up", -1), ("tilt_down", 1)])
    def test_tilt(self, name, sign):
        _, end = _end(name)
        assert np.sign(_forward(end)[1]) == sign  # -y is up
        assert _angle(end) == pytest.approx(10.0) and np.allclose(end[:3, 3], 0)

    @pytest.mark.parametrize("name,sign", [("roll_cw", 1), ("roll_ccw", -1)])
    def test_roll(self, name, sign):
        _, end = _end(name)
        assert np.sign(end[1, 0]) == sign  # clockwise: the camera's x axis turns toward +y
        assert np.allclose(_forward(end), [0, 0, 1]) and _angle(end) == pytest.approx(15.0)

    @pytest.mark.parametrize(
        "name,axis,value",
        [
            ("dolly_in", 2, 0.35),
            ("dolly_out", 2, -0.35),
            ("truck_left", 0, -0.3),
            ("truck_right", 0, 0.3),
            ("pedestal_up", 1, -0.2),
            ("pedestal_down", 1, 0.2),
        ],
    )
    def test_moves(self, name, axis, value):
        _, end = _end(name)
        expected = np.zeros(3)
        expected[axis] = value
        assert np.allclose(end[:3, 3], expected) and np.allclose(end[:3, :3], np.eye(3))

    def test_zoom_changes_focal_only(self):
        cam, end = _end("zoom_in")
        assert np.allclose(end, np.eye(4))
        assert cam.intrinsics[-1, 0] / cam.intrinsics[0, 0] == pytest.approx(1.5)
        assert np.all(np.diff(cam.intrinsics[:, 0]) >= 0)
        cam = _path("zoom_out", amount=2.0)
        assert cam.intrinsics[-1, 0] / cam.intrinsics[0, 0] == pytest.approx(0.5)
        cam = _path("zoom_in:2")
        assert cam.intrinsics[-1, 1] / cam.intrinsics[0, 1] == pytest.approx(2.0)

    @pytest.mark.parametrize("name,sign", [("dolly_zoom_in", 1), ("dolly_zoom_out", -1)])
    def test_dolly_zoom_keeps_subject_size(self, name, sign):
        cam = _path(name)
        z = cam.centers[:, 2]
        assert np.sign(z[-1]) == sign and abs(z[-1]) == pytest.approx(0.4)
        ratio = cam.intrinsics[:, 0] / (1.0 - z)
        assert np.allclose(ratio, ratio[0])
        assert np.allclose(cam.rotations, np.eye(3))

    @pytest.mark.parametrize(
        "name,sign,deg",
        [("arc_left", -1, 30), ("arc_right", 1, 30), ("orbit_left", -1, 60), ("orbit_right", 1, 60)],
    )
    def test_arcs_and_orbits_keep_subject_centred_at_distance_one(self, name, sign, deg):
        cam, end = _end(name)
        for m in cam.world_from_camera:
            p = _in_camera(m)
            assert np.allclose(p[:2], 0, atol=1e-9) and p[2] == pytest.approx(1.0)
            assert np.linalg.norm(m[:3, 3] - SUBJECT[:3]) == pytest.approx(1.0)
        assert np.sign(end[0, 3]) == sign
        assert _angle(end) == pytest.approx(deg)
        assert np.sign(_forward(end)[0]) == -sign  # turns back toward the subject

    @pytest.mark.parametrize("name,sign", [("crane_up", -1), ("crane_down", 1)])
    def test_crane_keeps_subject_centred(self, name, sign):
        cam, end = _end(name)
        assert end[1, 3] == pytest.approx(sign * 0.3)
        for m in cam.world_from_camera:
            assert np.allclose(_in_camera(m)[:2], 0, atol=1e-9)

    def test_handheld_is_seeded_small_and_moving_base(self):
        a, b = _path("handheld", 81), _path("handheld", 81)
        assert np.array_equal(a.world_from_camera, b.world_from_camera)
        assert 0.05 < rotation_angles_deg(a).max() < 3.0
        assert 1e-4 < np.abs(a.centers).max() < 0.03
        base, shaky = _path("dolly_in", 81), _path("dolly_in+handheld", 81)
        assert shaky.centers[-1, 2] == pytest.approx(base.centers[-1, 2], abs=0.03)
        assert not np.allclose(shaky.world_from_camera, base.world_from_camera)

    def test_static(self):
        cam = _path("static")
        assert np.allclose(cam.world_from_camera, np.eye(4)) and np.allclose(
            cam.intrinsics, cam.intrinsics[0]
        )

    def test_amount_sets_the_value_in_the_unit(self):
        assert _angle(_end("pan_left", amount=35.0)[1]) == pytest.approx(35.0)
        assert _end("dolly_in:0.5")[1][2, 3] == pytest.approx(0.5)
        assert _end("pan_left:-10")[1][:3, :3] @ [0, 0, 1] @ [1, 0, 0] > 0  # negative reverses

    def test_easing_is_monotone_for_every_curve(self):
        for e in EASINGS:
            z = _path("dolly_in", 41, ease=e).centers[:, 2]
            assert np.all(np.diff(z) >= -1e-12), e
            assert z[-1] == pytest.approx(0.35)
        z = _path("dolly_in", 41).centers[:, 2]  # ease_in_out: slow at both ends
        assert z[1] - z[0] < z[21] - z[20] > z[40] - z[39]


class TestComposition:
    def test_simultaneous(self):
        _, end = _end("dolly_in+pan_left")
        assert end[2, 3] == pytest.approx(0.35) and _forward(end)[0] < 0
        assert _angle(end) == pytest.approx(20.0)

    def test_sequence_with_short_hold(self):
        plan = plan_from_spec("static,dolly_in,pan_left")
        assert [s.label for s in plan.segments] == ["static", "dolly_in", "pan_left"]
        assert [s.weight for s in plan.segments] == [0.5, 1.0, 1.0]
        cam = _path("static,dolly_in,pan_left", 51)
        z, yaw = cam.centers[:, 2], rotation_angles_deg(cam)
        assert np.allclose(cam.world_from_camera[:11], np.eye(4))  # hold: first 1/5 of the shot
        assert z[30] == pytest.approx(0.35) and yaw[30] == pytest.approx(0, abs=1e-9)
        assert z[-1] == pytest.approx(0.35) and yaw[-1] == pytest.approx(20)

    def test_per_token_amounts_and_spacing(self):
        _, end = _end(" Dolly-In:0.5 + pan left:30 ")
        assert end[2, 3] == pytest.approx(0.5) and _angle(end) == pytest.approx(30)

    def test_global_amount_with_several_presets_is_an_error(self):
        with pytest.raises(PresetError, match="per-preset amounts"):
            plan_from_spec("dolly_in+pan_left", amount=0.5)

    def test_meta(self):
        cam = _path("dolly_in+pan_left", ease="linear")
        assert cam.meta["source"] == "preset" and cam.meta["preset"] == "dolly_in+pan_left"
        assert cam.meta["units"] == "scene" and cam.meta["ease"] == "linear"


class TestErrors:
    def test_unknown_name_lists_closest(self):
        with pytest.raises(PresetError, match="pan_left"):
            path_from_spec("pan_lft")
        with pytest.raises(PresetError, match="recammaster:1"):
            path_from_spec("recammaster:11")
        with pytest.raises(PresetError, match="gen3c:left"):
            path_from_spec("gen3c:lefty")

    @pytest.mark.parametrize(
        "spec",
        [
            "",
            "dolly_in,,pan_left",
            "dolly_in:abc",
            "static:3",
            "zoom_in:-1",
            "dolly_zoom_in:1.2",
            "recammaster:1+pan_left",
            "gen3c:left:sideways",
        ],
    )
    def test_bad_specs(self, spec):
        with pytest.raises(PresetError):
            path_from_spec(spec)

    def test_bad_frames_and_ease(self):
        with pytest.raises(InputError):
            path_from_spec("dolly_in", frames=0)
        with pytest.raises(PresetError, match="ease"):
            path_from_spec("dolly_in", ease="bouncy")

    def test_literal_is_not_a_plan(self):
        with pytest.raises(PresetError, match="path_from_spec"):
            plan_from_spec("recammaster:1")


class TestParseSize:
    def test_ok(self):
        assert parse_size("832x480") == (832, 480) and parse_size(" 64X48 ") == (64, 48)

    @pytest.mark.parametrize("text", ["832", "0x480", "833x480", "axb", "-2x4"])
    def test_bad(self, text):
        with pytest.raises(InputError, match="size"):
            parse_size(text)


class TestReCamMaster:
    # (end centre in metres, end rotation vector in degrees) from shared/REFERENCE.md 2.2
    EXPECTED = {
        1: ((0, 0, 0), (0, 19.876, 0)),
        2: ((0, 0, 0), (0, -19.876, 0)),
        3: ((0, 0, 0), (9.938, 0, 0)),
        4: ((0, 0, 0), (-9.938, 0, 0)),
        5: ((0, 0, 1.9876), (0, 0, 0)),
        6: ((0, 0, -1.9876), (0, 0, 0)),
        7: ((0, -0.9938, 0), (-13.952, 0, 0)),
        8: ((0, 0.9938, 0), (13.952, 0, 0)),
        9: ((-1.9876, 0, 0.5326), (0, 29.822, 0)),
        10: ((1.9876, 0, 0.5326), (0, -29.822, 0)),
    }

    @pytest.mark.parametrize("index", range(1, 11))
    def test_end_states(self, index):
        cam = path_from_spec(f"recammaster:{index}")
        assert len(cam) == 81 and cam.meta["units"] == "metres"
        centre, rotvec = self.EXPECTED[index]
        end = cam.world_from_camera[-1]
        assert np.allclose(end[:3, 3], centre, atol=2e-4)
        assert np.allclose(Rotation.from_matrix(end[:3, :3]).as_rotvec(degrees=True), rotvec, atol=2e-3)
        # constant speed along the chord: frame 40 is halfway
        assert np.allclose(cam.centers[40], cam.centers[-1] / 2, atol=1e-12)

    def test_names_and_scene_units(self):
        a = path_from_spec("recammaster:arc_left")
        b = path_from_spec("recammaster:9")
        assert np.allclose(a.world_from_camera, b.world_from_camera)
        s = path_from_spec("recammaster:cam09:scene")
        assert np.allclose(s.centers * 4, b.centers) and np.allclose(s.rotations, b.rotations)
        assert s.meta["units"] == "scene"

    def test_direction_agrees_with_vocabulary(self):
        for index, name in [
            (1, "pan_right"),
            (2, "pan_left"),
            (3, "tilt_up"),
            (4, "tilt_down"),
            (5, "dolly_in"),
            (6, "dolly_out"),
            (7, "crane_up"),
            (8, "crane_down"),
            (9, "arc_left"),
            (10, "arc_right"),
        ]:
            ours = _end(name)[1]
            theirs = path_from_spec(f"recammaster:{index}").world_from_camera[-1]
            assert np.dot(_forward(ours) - [0, 0, 1], _forward(theirs) - [0, 0, 1]) >= 0, name
            assert np.dot(ours[:3, 3], theirs[:3, 3]) >= 0, name
            assert (
                np.linalg.norm(ours[:3, 3]) + np.linalg.norm(theirs[:3, 3]) == 0
                or np.dot(ours[:3, 3], theirs[:3, 3]) > 0
            ), name

    @pytest.mark.parametrize("index", range(1, 11))
    def test_matches_the_importer(self, index):
        from shotsmith.camera import relative_to_first

        imported = relative_to_first(formats.read_camera_file(RECAMMASTER_FILE, camera=f"cam{index:02d}"))
        ours = path_from_spec(f"recammaster:{index}", frames=len(imported))
        assert np.abs(imported.world_from_camera - ours.world_from_camera).max() < 1e-3


class TestGen3c:
    @pytest.mark.parametrize("traj,sign", [("left", -1), ("right", 1)])
    def test_faithful_quirk_matches_reference(self, traj, sign):
        cam = path_from_spec(f"gen3c:{traj}:center_facing", frames=121, amount=0.3)
        end = cam.world_from_camera[-1]
        assert np.allclose(end[:3, 3], [sign * 0.285, 0, 0.085], atol=1e-3)
        assert _angle(end) == pytest.approx(16.6, abs=0.05)
        assert cam.meta["units"] == "scene"

    def test_up_down_and_trajectory_aligned(self):
        end = path_from_spec("gen3c:up", frames=121).world_from_camera[-1]
        assert np.allclose(end[:3, 3], [0, -0.285, 0.085], atol=1e-3)
        end = path_from_spec("gen3c:right:trajectory_aligned", frames=121).world_from_camera[-1]
        assert end[2, 3] == pytest.approx(-0.085, abs=1e-3)

    def test_corrected_and_exact_modes(self):
        cam = path_from_spec("gen3c:left:corrected", frames=121)
        assert np.allclose(cam.centers[-1], [-0.3 * 120 / 121, 0, 0])  # n in the denominator
        assert np.allclose(_in_camera(cam.world_from_camera[-1])[:2], 0, atol=1e-12)  # faces (0, 0, 1)
        for spec in ("gen3c:left:no_rotation", "gen3c:zoom_in"):
            a = path_from_spec(spec, frames=121)
            b = path_from_spec(spec + ":corrected", frames=121)
            assert np.allclose(a.world_from_camera, b.world_from_camera)
        end = path_from_spec("gen3c:zoom_in", frames=121).world_from_camera[-1]
        assert np.allclose(end[:3, 3], [0, 0, 0.3 * 120 / 121]) and np.allclose(end[:3, :3], np.eye(3))

    def test_spiral(self):
        cam = path_from_spec("gen3c:clockwise:corrected", frames=121)
        c = cam.centers
        assert np.allclose(c[30], [-0.3, 0.3, 0], atol=1e-9) and np.allclose(c[60], [-0.6, 0, 0], atol=1e-9)
        assert np.allclose(c[-1], 0, atol=1e-9)
        assert rotation_angles_deg(cam).max() == pytest.approx(31.0, abs=0.1)
        ccw = path_from_spec("gen3c:counterclockwise:corrected", frames=121).centers
        assert np.allclose(ccw[60], [0.6, 0, 0], atol=1e-9)


class TestCamI2V:
    def test_described_end_states(self):
        assert np.allclose(_end("cami2v:zoom_in")[1][:3, 3], [0, 0, 1])
        assert np.allclose(_end("cami2v:pan_left")[1][:3, 3], [-2, 0, 0])
        assert np.allclose(_end("cami2v:pan_right")[1][:3, 3], [1, 0, 0])
        _, end = _end("cami2v:look_left")
        assert np.allclose(_forward(end), [-1, 0, 0], atol=1e-9)
        _, end = _end("cami2v:look_up")
        assert np.allclose(_forward(end), [0, -1, 0], atol=1e-9)
        _, end = _end("cami2v:orbit_left")
        assert end[0, 3] == pytest.approx(-3.0) and _angle(end) == pytest.approx(120)
        _, end = _end("cami2v:rotate_anticlockwise")
        assert np.allclose(end[:3, 0], [0, 1, 0], atol=1e-9)  # as the CamI2V file: x axis turns to +y

    def test_constant_speed(self):
        ang = rotation_angles_deg(_path("cami2v:look_left", 50))
        assert np.allclose(np.diff(ang), 90 / 49)

    def test_pan_up_down_not_offered(self):
        with pytest.raises(PresetError):
            path_from_spec("cami2v:pan_up")
