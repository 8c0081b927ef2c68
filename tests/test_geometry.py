"""Depth geometry: unprojection (pixel centres), flying pixels, normalisation, intrinsics, resizing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shotsmith import geometry as G
from shotsmith.errors import InputError


class TestUnproject:
    def test_round_trip_pixel_centres(self):
        rng = np.random.default_rng(0)
        depth = rng.uniform(0.5, 4.0, size=(24, 32)).astype(np.float32)
        k = np.array([30.0, 28.0, 16.0, 12.0])
        pts = G.unproject_depth(depth, k).reshape(-1, 3)
        uv, z = G.project_points(pts, k)
        v, u = np.mgrid[0:24, 0:32]
        np.testing.assert_allclose(uv[:, 0], u.ravel() + 0.5, atol=1e-4)
        np.testing.assert_allclose(uv[:, 1], v.ravel() + 0.5, atol=1e-4)
        np.testing.assert_allclose(z, depth.ravel(), rtol=1e-6)
        # floor(u, v) is the pixel index
        np.testing.assert_array_equal(np.floor(uv[:, 0]).astype(int), u.ravel())

    def test_centre_pixel_of_even_image_is_off_axis(self):
        depth = np.ones((2, 2), np.float32)
        pts = G.unproject_depth(depth, np.array([1.0, 1.0, 1.0, 1.0]))
        np.testing.assert_allclose(pts[0, 0], [-0.5, -0.5, 1.0])
        np.testing.assert_allclose(pts[1, 1], [0.5, 0.5, 1.0])

    def test_z_depth_not_ray_length(self):
        depth = np.full((5, 9), 2.0, np.float32)
        pts = G.unproject_depth(depth, np.array([4.0, 4.0, 4.5, 2.5]))
        assert np.allclose(pts[..., 2], 2.0)

    def test_footprint_is_pixel_spacing(self):
        depth = np.full((4, 4), 3.0, np.float32)
        k = np.array([10.0, 10.0, 2.0, 2.0])
        pts = G.unproject_depth(depth, k)
        spacing = pts[0, 1, 0] - pts[0, 0, 0]
        np.testing.assert_allclose(G.point_footprint_radius(depth, k), spacing, rtol=1e-6)


class TestFlyingPixels:
    def test_step_removed_planes_kept(self):
        depth = np.ones((40, 60), np.float32)
        depth[:, 30:] = 3.0
        keep = G.flying_pixel_mask(depth, 0.05)
        # a band around the step is dropped, both planes far from it are kept
        assert not keep[:, 28:32].any()
        assert keep[:, :27].all() and keep[:, 33:].all()

    def test_tilted_plane_kept(self):
        v = np.arange(100, dtype=np.float32)[:, None]
        depth = np.broadcast_to(1.0 + 0.002 * v, (100, 80)).astype(np.float32)
        assert G.flying_pixel_mask(depth, 0.05).all()

    def test_invalid_and_neighbours_dropped(self):
        depth = np.ones((20, 20), np.float32)
        depth[10, 10] = 0.0
        keep = G.flying_pixel_mask(depth, 0.05)
        assert not keep[8:13, 8:13].any()
        assert keep[0, 0] and keep[19, 19]

    def test_threshold_zero_keeps_valid(self):
        depth = np.ones((10, 10), np.float32)
        depth[:, 5:] = 10.0
        depth[0, 0] = 0.0
        keep = G.flying_pixel_mask(depth, 0.0)
        assert keep.sum() == 99

    def test_scale_invariant(self):
        rng = np.random.default_rng(1)
        depth = rng.uniform(1, 1.2, (30, 30)).astype(np.float32)
        np.testing.assert_array_equal(G.flying_pixel_mask(depth), G.flying_pixel_mask(depth * 37.0))


class TestNormalize:
    def test_subject_is_one(self):
        rng = np.random.default_rng(2)
        depth = rng.uniform(2, 9, (31, 17)).astype(np.float32)
        depth[:3] = 0.0
        out, s = G.normalize_depth(depth)
        centre = out[7:24, 4:13]
        assert np.median(centre[centre > 0]) == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(out * s, depth, rtol=1e-6)
        assert (out[:3] == 0).all()

    def test_portrait_subject_not_the_wall(self):
        # A person (depth 1) in the middle third, a wall (depth 3) filling most of the frame.
        depth = np.full((90, 120), 3.0, np.float32)
        depth[20:90, 40:80] = 1.0
        assert np.median(depth) == 3.0
        assert G.subject_depth(depth) == pytest.approx(1.0)
        out, s = G.normalize_depth(depth)
        assert s == pytest.approx(1.0) and out[50, 60] == pytest.approx(1.0)
        # An empty centre falls back to the whole view.
        depth[20:70, 30:90] = 0.0
        assert G.subject_depth(depth) == pytest.approx(np.median(depth[depth > 0]))

    def test_sanitize_counts_bad_values(self):
        d = np.array([[1.0, np.nan, -2.0], [np.inf, 0.0, 3.0]], np.float32)
        out, bad = G.sanitize_depth(d)
        assert bad == 3
        np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 3]])

    def test_all_invalid_is_an_error(self):
        with pytest.raises(InputError, match="no valid pixel"):
            G.normalize_depth(np.full((3, 3), np.nan, np.float32))


class TestIntrinsics:
    def test_priority(self):
        k, src = G.choose_intrinsics(640, 480, fov_deg=90.0, focal_35mm=50.0)
        assert src == "user" and k[0] == pytest.approx(320.0)
        k, src = G.choose_intrinsics(640, 480, focal_35mm=50.0, model_intrinsics=np.array([1.0, 1, 1, 1]))
        assert src == "exif"
        k, src = G.choose_intrinsics(640, 480, model_intrinsics=np.array([500.0, 500, 320, 240]))
        assert src == "model" and k[0] == 500.0
        k, src = G.choose_intrinsics(640, 480, model_intrinsics=np.array([-5.0, 500, 320, 240]))
        assert src == "default"
        assert math.degrees(2 * math.atan(320 / k[0])) == pytest.approx(60.0)
        assert tuple(k[2:]) == (320.0, 240.0)

    def test_35mm_equivalent(self):
        # 36x24 mm frame at 3600x2400 px: 100 px per mm, so a 50 mm lens is 5000 px
        assert G.focal_px_from_35mm(50.0, 3600, 2400) == pytest.approx(5000.0)
        # the diagonal rule: a 16:9 crop of the same diagonal keeps the focal
        w, h = 16 * 200, 9 * 200
        f = G.focal_px_from_35mm(28.0, w, h)
        assert f == pytest.approx(28.0 * math.hypot(w, h) / math.hypot(36, 24))

    def test_exif_focal(self, tmp_path):
        from PIL import Image

        im = Image.new("RGB", (60, 40))
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0xA405] = 35
        im.save(tmp_path / "a.jpg", exif=exif)
        with Image.open(tmp_path / "a.jpg") as reopened:
            assert G.exif_focal_35mm(reopened) == 35.0
        im.save(tmp_path / "b.jpg")
        with Image.open(tmp_path / "b.jpg") as reopened:
            assert G.exif_focal_35mm(reopened) is None


class TestResize:
    def test_cache_size(self):
        assert G.cache_size(1000, 800, 1_300_000) == (1000, 800)
        w, h = G.cache_size(3840, 2160, 1_300_000)
        assert w * h <= 1_300_000 and abs(w / h - 16 / 9) < 0.01

    def test_resize_depth_does_not_blend_invalid(self):
        d = np.ones((8, 8), np.float32)
        d[:, :4] = 0.0
        d[:, 4:] = 5.0
        out = G.resize_depth(d, 4, 4)
        assert set(np.unique(out)) <= {0.0, 5.0}
        up = G.resize_depth(d, 16, 16)
        assert set(np.round(np.unique(up), 4)) <= {0.0, 5.0}
