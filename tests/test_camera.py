"""CameraPath validation and operations, with numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import camera as C
from shotsmith.errors import CameraError


def _path(n=5, w=64, h=48):
    rots = Rotation.from_euler("y", np.linspace(0, 30, n)[:, None], degrees=True).as_matrix()
    trans = np.stack([np.linspace(0, 1, n), np.zeros(n), np.linspace(0, 0.5, n)], axis=1)
    return C.CameraPath(C.make_pose(rots, trans), C.default_intrinsics(w, h), w, h, 16.0)


class TestValidation:
    def test_good_path(self):
        p = _path()
        assert len(p) == 5 and p.intrinsics.shape == (5, 4)

    def test_nan_names_frame(self):
        m = _path().world_from_camera
        m[3, 0, 3] = np.nan
        with pytest.raises(CameraError, match="frame 3"):
            C.CameraPath(m, C.default_intrinsics(64, 48), 64, 48)

    def test_reflection_rejected(self):
        m = _path().world_from_camera
        m[2, :3, 0] *= -1
        with pytest.raises(CameraError, match="frame 2.*reflection"):
            C.CameraPath(m, C.default_intrinsics(64, 48), 64, 48)

    def test_non_orthonormal_rejected(self):
        m = _path().world_from_camera
        m[1, :3, :3] *= 1.001
        with pytest.raises(CameraError, match="frame 1.*orthonormal"):
            C.CameraPath(m, C.default_intrinsics(64, 48), 64, 48)

    def test_negative_focal_and_empty(self):
        with pytest.raises(CameraError, match="focal"):
            C.CameraPath(np.eye(4)[None], [-1, 1, 2, 2], 4, 4)
        with pytest.raises(CameraError, match="at least one frame"):
            C.CameraPath(np.zeros((0, 4, 4)), np.zeros((0, 4)), 4, 4)
        with pytest.raises(CameraError, match="frame count"):
            C.static_path(-3, 8, 8)


class TestOps:
    def test_invert_rigid(self):
        p = _path()
        assert np.allclose(p.world_from_camera @ C.invert_rigid(p.world_from_camera), np.eye(4), atol=1e-12)

    def test_relative_to_first(self):
        p = _path()
        shifted = (
            C.make_pose(Rotation.from_euler("x", 20, degrees=True).as_matrix(), [3, 4, 5])
            @ p.world_from_camera
        )
        q = C.relative_to_first(C.CameraPath(shifted, p.intrinsics, 64, 48))
        assert np.allclose(q.world_from_camera[0], np.eye(4), atol=1e-12)
        assert np.allclose(q.world_from_camera, C.relative_to_first(p).world_from_camera, atol=1e-9)

    def test_concatenate_chains(self):
        a = _path(5)
        b = _path(4)
        c = C.concatenate([a, b])
        assert len(c) == 8
        # The joined path ends at a's end composed with b's relative end.
        expect = a.world_from_camera[-1] @ C.relative_to_first(b).world_from_camera[-1]
        assert np.allclose(c.world_from_camera[-1], expect, atol=1e-12)

    def test_resample_keeps_ends_and_linear_motion(self):
        p = _path(5)
        q = C.resample(p, 17)
        assert len(q) == 17
        assert np.allclose(q.world_from_camera[[0, -1]], p.world_from_camera[[0, -1]], atol=1e-12)
        # Constant-speed input stays constant speed: the middle frame is the mid rotation and position.
        assert np.allclose(q.world_from_camera[8], p.world_from_camera[2], atol=1e-9)
        angles = C.rotation_angles_deg(q)
        assert np.allclose(np.diff(angles), 30 / 16, atol=1e-6)

    def test_resample_roundtrip(self):
        p = _path(9)
        back = C.resample(C.resample(p, 33), 9)
        assert np.allclose(back.world_from_camera, p.world_from_camera, atol=1e-9)

    def test_easing(self):
        t = np.linspace(0, 1, 11)
        for kind in C.EASINGS:
            e = C.ease(t, kind)
            assert e[0] == pytest.approx(0) and e[-1] == pytest.approx(1)
            assert np.all(np.diff(e) >= -1e-12)
        assert C.ease(0.5, "ease_in") < 0.5 < C.ease(0.5, "ease_out")
        # MultiCamVideo curve: a > 0 starts fast.
        assert C.ease(0.1, "exponential", 3.0) > 0.1 > C.ease(0.1, "exponential", -3.0)
        with pytest.raises(CameraError, match="unknown easing"):
            C.ease(t, "bouncy")

    def test_look_at(self):
        m = C.look_at([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
        cam_from_world = C.invert_rigid(m)
        target_cam = cam_from_world @ np.array([0.0, 0.0, 1.0, 1.0])
        assert np.allclose(target_cam[:2], 0, atol=1e-12) and target_cam[2] > 0
        assert np.linalg.det(m[:3, :3]) == pytest.approx(1.0)
        # Image "up" stays world up (-y): the camera's y axis has no -y... it points down.
        assert m[1, 1] > 0

    def test_fov_focal_roundtrip(self):
        f = C.focal_from_fov(60.0, 832)
        assert C.fov_from_focal(f, 832) == pytest.approx(60.0)
        assert f == pytest.approx(416 / np.tan(np.radians(30)))
        with pytest.raises(CameraError):
            C.focal_from_fov(0, 100)

    def test_with_size(self):
        p = _path().with_size(128, 96)
        assert p.width == 128 and np.allclose(p.intrinsics[0, 2:], [64, 48])


def test_fit_intrinsics_cover_crop():
    src = C.default_intrinsics(512, 512)
    k = C.fit_intrinsics(src, (512, 512), (832, 480))
    assert k[0] == pytest.approx(src[0] * 1.625) and np.allclose(k[2:], [416, 240])
    # The source's left edge at the centre row maps outside the target (cropped), its centre to the centre.
    u_left = k[0] * ((0.0 - src[2]) / src[0]) + k[2]
    assert u_left == pytest.approx(0.0)
