"""Motions become the camera paths their names say (signs and sizes in the first camera's frame)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith.camera import relative_to_first
from shotsmith.errors import PlanError
from shotsmith.motion import Motion, Plan, Segment, build_path, combine, scale_motion


def _end(m: Motion, n=21):
    p = build_path(Plan((Segment(m),)), n, 64, 48)
    rel = relative_to_first(p)
    return rel, rel.world_from_camera[-1]


def _forward(m):
    return m[:3, :3] @ np.array([0.0, 0.0, 1.0])


def test_yaw_right_looks_right():
    _, end = _end(Motion(yaw_deg=20))
    assert _forward(end)[0] > 0.3 and np.allclose(end[:3, 3], 0)
    assert np.degrees(Rotation.from_matrix(end[:3, :3]).magnitude()) == pytest.approx(20)


def test_pitch_up_looks_up_and_roll():
    _, end = _end(Motion(pitch_deg=10))
    assert _forward(end)[1] < -0.1  # -y is up
    _, end = _end(Motion(roll_deg=15))
    x_axis = end[:3, 0]
    assert x_axis[1] > 0.2  # clockwise: the camera's right turns toward down


def test_move_forward_and_up():
    _, end = _end(Motion(move=(0.0, -0.2, 0.4)))
    assert np.allclose(end[:3, 3], [0, -0.2, 0.4]) and np.allclose(end[:3, :3], np.eye(3))


def test_orbit_keeps_subject_centred_and_distance():
    rel, _ = _end(Motion(orbit_deg=40))
    target = np.array([0.0, 0.0, 1.0, 1.0])
    for m in rel.world_from_camera:
        cam = np.linalg.inv(m) @ target
        assert np.allclose(cam[:2], 0, atol=1e-9)
        assert cam[2] == pytest.approx(1.0)
    assert rel.centers[-1, 0] > 0.5  # moved right


def test_crane_up_keeps_subject_centred():
    rel, end = _end(Motion(crane=0.3))
    assert end[1, 3] == pytest.approx(-0.3)
    cam = np.linalg.inv(end) @ np.array([0.0, 0.0, 1.0, 1.0])
    assert np.allclose(cam[:2], 0, atol=1e-9)


def test_zoom_and_dolly_zoom():
    p = build_path(Plan((Segment(Motion(zoom=2.0)),)), 11, 64, 48)
    assert p.intrinsics[-1, 0] == pytest.approx(2 * p.intrinsics[0, 0])
    assert np.allclose(p.centers, 0)
    p = build_path(Plan((Segment(Motion(dolly_zoom=0.5)),)), 11, 64, 48)
    z = p.centers[:, 2]
    # subject size ~ f / (d - z) stays constant
    size = p.intrinsics[:, 0] / (1.0 - z)
    assert np.allclose(size, size[0])
    with pytest.raises(PlanError, match="through the subject"):
        build_path(Plan((Segment(Motion(dolly_zoom=1.5)),)), 5, 64, 48)


def test_sequence_chains_and_shares_boundaries():
    plan = Plan((Segment(Motion(move=(0.0, 0.0, 0.5))), Segment(Motion(yaw_deg=-30))))
    p = build_path(plan, 41, 64, 48)
    # First half moves, second half turns left in place.
    assert p.centers[20, 2] == pytest.approx(0.5)
    assert np.allclose(p.centers[20:], p.centers[20])
    assert _forward(p.world_from_camera[-1])[0] < -0.3


def test_combine_and_scale():
    m = combine(Motion(yaw_deg=10), Motion(move=(0.1, 0.0, 0.0), zoom=1.5))
    assert m.yaw_deg == 10 and m.move == (0.1, 0.0, 0.0) and m.zoom == 1.5
    s = scale_motion(m, 2.0)
    assert s.yaw_deg == 20 and s.zoom == pytest.approx(2.25)


def test_easing_changes_speed_not_end():
    lin = build_path(Plan((Segment(Motion(move=(0.0, 0.0, 1.0 - 0.5))),)), 21, 64, 48)
    eas = build_path(Plan((Segment(Motion(move=(0.0, 0.0, 0.5), ease="ease_in")),)), 21, 64, 48)
    assert np.allclose(lin.centers[-1], eas.centers[-1])
    assert eas.centers[5, 2] < lin.centers[5, 2]


def test_handheld_is_seeded_and_small():
    a = build_path(Plan((Segment(Motion(handheld=1.0, seed=3)),)), 33, 64, 48)
    b = build_path(Plan((Segment(Motion(handheld=1.0, seed=3)),)), 33, 64, 48)
    c = build_path(Plan((Segment(Motion(handheld=1.0, seed=4)),)), 33, 64, 48)
    assert np.array_equal(a.world_from_camera, b.world_from_camera)
    assert not np.allclose(a.world_from_camera, c.world_from_camera)
    ang = np.degrees(Rotation.from_matrix(a.rotations).magnitude())
    assert 0.05 < ang.max() < 3.0


def test_bad_plan():
    with pytest.raises(PlanError):
        Plan(())
    with pytest.raises(PlanError, match="weight"):
        Plan((Segment(Motion(), weight=0),))
