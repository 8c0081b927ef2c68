"""The point renderer: source-view reproduction, occlusion, hole-free footprints, backend agreement, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith.camera import CameraPath
from shotsmith.render import RenderSettings, point_radius, render_path, render_points

BACKENDS = ["numba", "torch", "reference"]


def unproject(depth: np.ndarray, fx: float, world_from_camera: np.ndarray | None = None) -> np.ndarray:
    """(H*W, 3) float32 world points at the pixel centres of a z-depth map (cx = W/2, cy = H/2)."""
    h, w = depth.shape
    ys, xs = np.mgrid[0:h, 0:w]
    cam = np.stack([(xs + 0.5 - w / 2) / fx * depth, (ys + 0.5 - h / 2) / fx * depth, depth], -1).reshape(
        -1, 3
    )
    if world_from_camera is not None:
        cam = cam @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]
    return cam.astype(np.float32)


def pose(yaw_deg: float = 0.0, pitch_deg: float = 0.0, t=(0.0, 0.0, 0.0)) -> np.ndarray:
    """world_from_camera with a yaw about +y, then a pitch about +x, and a translation."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("yx", [yaw_deg, pitch_deg], degrees=True).as_matrix()
    m[:3, 3] = t
    return m


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture
def smooth_depth():
    """A 96x128 smooth z-depth map around 1.0 (a tilted, gently curved surface)."""
    ys, xs = np.mgrid[0:96, 0:128] / np.array([96.0, 128.0])[:, None, None]
    return (1.0 + 0.3 * xs + 0.15 * np.sin(3 * ys) + 0.1 * np.cos(2 * xs * ys)).astype(np.float32)


class TestSourceView:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_reproduces_source_image(self, backend, textured_image, smooth_depth):
        f = 110.0
        points = unproject(smooth_depth, f)
        colors = textured_image.reshape(-1, 3)
        radius = point_radius(points, np.eye(4), f)
        out = render_points(
            points, colors, np.eye(4), [f, f, 64, 48], 128, 96,
            radius=radius, settings=RenderSettings(backend=backend),
        )  # fmt: skip
        assert out.mask.mean() >= 0.99
        assert psnr(out.rgb[out.mask], textured_image[out.mask]) >= 35
        np.testing.assert_allclose(out.depth[out.mask], smooth_depth[out.mask], rtol=1e-4)

    def test_shapes_and_dtypes(self, textured_image, smooth_depth):
        points = unproject(smooth_depth, 110.0)
        out = render_points(points, textured_image.reshape(-1, 3), np.eye(4), [110, 110, 40, 30], 80, 60)
        assert out.rgb.shape == (60, 80, 3) and out.rgb.dtype == np.uint8
        assert out.mask.shape == (60, 80) and out.mask.dtype == bool
        assert out.depth.shape == (60, 80) and out.depth.dtype == np.float32
        assert (out.rgb[~out.mask] == 0).all() and (out.depth[~out.mask] == 0).all()


def occluder_scene():
    """A red plane at z = 2 (x, y in [-1.5, 1.5] x [-1.2, 1.2]) and a green square at z = 1 (|x|, |y| <= 0.2)."""
    gx, gy = np.meshgrid(np.arange(-1.5, 1.5, 0.02), np.arange(-1.2, 1.2, 0.02))
    far = np.stack([gx, gy, np.full_like(gx, 2.0)], -1).reshape(-1, 3)
    sx, sy = np.meshgrid(np.arange(-0.2, 0.2 + 1e-9, 0.005), np.arange(-0.2, 0.2 + 1e-9, 0.005))
    near = np.stack([sx, sy, np.ones_like(sx)], -1).reshape(-1, 3)
    points = np.concatenate([far, near]).astype(np.float32)
    colors = np.concatenate(
        [np.tile([[200, 30, 30]], (len(far), 1)), np.tile([[30, 200, 30]], (len(near), 1))]
    )
    radius = np.concatenate([np.full(len(far), 0.7 * 0.02), np.full(len(near), 0.7 * 0.005)]).astype(
        np.float32
    )
    return points, colors.astype(np.uint8), radius


class TestOcclusion:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_near_square_in_front_from_a_side_camera(self, backend):
        points, colors, radius = occluder_scene()
        # Camera 0.3 to the right, turned 5 degrees left: the square lands at u in ~[24, 63], v in ~[27, 69].
        cam = pose(yaw_deg=-5.0, t=(0.3, 0.0, 0.0))
        out = render_points(
            points,
            colors,
            cam,
            [100, 100, 64, 48],
            128,
            96,
            radius=radius,
            settings=RenderSettings(backend=backend),
        )
        assert out.mask.all()  # the far plane fills the view, the square covers part of it
        # Where the square is seen (centre of its projection) the near surface wins, unblended.
        centre = np.array([0.0, 0.0, 1.0, 1.0]) @ np.linalg.inv(cam).T
        u, v = int(100 * centre[0] / centre[2] + 64), int(100 * centre[1] / centre[2] + 48)
        assert out.rgb[v, u].tolist() == [30, 200, 30]
        assert out.depth[v, u] == pytest.approx(centre[2], rel=1e-3)
        # Far to the right only the plane is seen.
        assert out.rgb[48, 110].tolist() == [200, 30, 30]
        ray_z = (np.linalg.inv(cam) @ np.array([0, 0, 2.0, 1.0]))[2]
        assert out.depth[48, 100] == pytest.approx(ray_z, rel=0.05)
        # Clean depth edges: every pixel is exactly one surface's colour, never a blend of the two.
        seen = {tuple(c) for c in out.rgb.reshape(-1, 3)}
        assert seen == {(200, 30, 30), (30, 200, 30)}
        near = out.rgb[..., 1] == 200
        assert (out.depth[near] < 1.2).all() and (out.depth[~near] > 1.7).all()


class TestNoHoles:
    def _frustum_cache(self, depth: np.ndarray, f: float):
        points = unproject(depth, f)
        colors = np.full((len(points), 3), 128, np.uint8)
        return points, colors, point_radius(points, np.eye(4), f)

    def _seen_region(self, cam: np.ndarray, f: float, w: int, h: int, plane_z: float, inset: float = 1.0):
        """(H, W) bool: target pixels whose ray hits the plane z = plane_z inside the source image (inset px)."""
        ys, xs = np.mgrid[0:h, 0:w]
        rays = np.stack([(xs + 0.5 - w / 2) / f, (ys + 0.5 - h / 2) / f, np.ones((h, w))], -1)
        dirs = rays @ cam[:3, :3].T
        t = (plane_z - cam[2, 3]) / dirs[..., 2]
        hit = cam[:3, 3] + t[..., None] * dirs
        us, vs = f * hit[..., 0] / hit[..., 2] + w / 2, f * hit[..., 1] / hit[..., 2] + h / 2
        return (t > 0) & (us >= inset) & (us <= w - inset) & (vs >= inset) & (vs <= h - inset)

    @pytest.mark.parametrize("footprint", ["square", "round"])
    @pytest.mark.parametrize("cam_kind", ["pan10", "tilt8", "dolly"])
    def test_no_holes_inside_the_source_field_of_view(self, cam_kind, footprint):
        f, w, h = 100.0, 128, 96
        points, colors, radius = self._frustum_cache(np.ones((h, w), np.float32), f)
        cam = {"pan10": pose(yaw_deg=10), "tilt8": pose(pitch_deg=8), "dolly": pose(t=(0.0, 0.0, 0.3))}[
            cam_kind
        ]
        out = render_points(
            points, colors, cam, [f, f, w / 2, h / 2], w, h, radius=radius,
            settings=RenderSettings(footprint=footprint),
        )  # fmt: skip
        seen = self._seen_region(cam, f, w, h, 1.0)
        assert seen.sum() > 0.5 * w * h
        assert out.mask[seen].all(), f"{(~out.mask[seen]).sum()} holes inside the field of view"
        # And nothing outside it but a footprint's rim.
        assert not (out.mask & ~self._seen_region(cam, f, w, h, 1.0, inset=-3.0)).any()

    def test_pan_of_a_slanted_curved_surface(self, smooth_depth):
        f, h, w = 110.0, *smooth_depth.shape
        points = unproject(smooth_depth, f)
        colors = np.full((len(points), 3), 90, np.uint8)
        out = render_points(
            points,
            colors,
            pose(yaw_deg=10),
            [f, f, w / 2, h / 2],
            w,
            h,
            radius=point_radius(points, np.eye(4), f),
        )
        # The covered region is one blob without pin-holes: every uncovered pixel is connected to the border.
        from scipy import ndimage

        holes = ndimage.binary_fill_holes(out.mask) & ~out.mask
        assert not holes.any(), f"{holes.sum()} pin-holes"
        assert out.mask.mean() > 0.7


class TestBackendsAgree:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    @pytest.mark.parametrize("footprint", ["square", "round"])
    def test_random_scene(self, seed, footprint):
        rng = np.random.default_rng(seed)
        n = 3000
        points = np.stack([rng.uniform(-1, 1, n), rng.uniform(-0.8, 0.8, n), rng.uniform(0.5, 3.0, n)], 1)
        points = points.astype(np.float32)
        colors = rng.integers(0, 256, (n, 3)).astype(np.uint8)
        radius = rng.uniform(0.0, 0.05, n).astype(np.float32)
        cam = pose(yaw_deg=rng.uniform(-10, 10), pitch_deg=rng.uniform(-5, 5), t=rng.uniform(-0.2, 0.2, 3))
        outs = {
            b: render_points(
                points, colors, cam, [70, 72, 40, 31], 80, 60, radius=radius,
                settings=RenderSettings(backend=b, footprint=footprint, max_samples_per_chunk=500),
            )
            for b in BACKENDS
        }  # fmt: skip
        ref = outs["reference"]
        assert ref.mask.mean() > 0.3
        for b in ("numba", "torch"):
            out = outs[b]
            np.testing.assert_array_equal(out.mask, ref.mask, err_msg=b)
            assert np.abs(out.rgb.astype(int) - ref.rgb).max() <= 1, b
            np.testing.assert_allclose(out.depth, ref.depth, atol=1e-4, err_msg=b)

    def test_no_radius_means_one_pixel_per_point(self):
        points = np.array(
            [[0.05, 0.05, 1.0], [0.5, 0.1, 2.0]], np.float32
        )  # at pixel centres (5.5, 5.5), (7.5, 5.5)
        colors = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
        for b in BACKENDS:
            out = render_points(
                points, colors, np.eye(4), [10, 10, 5, 5], 10, 10, settings=RenderSettings(backend=b)
            )
            assert out.mask.sum() == 2
            assert out.rgb[5, 5].tolist() == [255, 0, 0] and out.rgb[5, 7].tolist() == [0, 0, 255]
            assert out.depth[5, 7] == pytest.approx(2.0)


class TestEdgeCases:
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_empty_point_set(self, backend):
        out = render_points(
            np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.eye(4), [50, 50, 16, 12], 32, 24,
            radius=np.zeros(0, np.float32), settings=RenderSettings(backend=backend),
        )  # fmt: skip
        assert not out.mask.any() and not out.rgb.any() and not out.depth.any()
        assert out.rgb.shape == (24, 32, 3)

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_camera_inside_the_scene(self, backend):
        """Points all around the camera (a room) and behind it: renders what is in front, no crash."""
        rng = np.random.default_rng(3)
        d = rng.normal(size=(4000, 3))
        points = (d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(0.5, 2, (4000, 1))).astype(
            np.float32
        )
        points[:5] = [[0, 0, 0], [0, 0, 1e-9], [np.nan, 0, 1], [np.inf, 0, 1], [0, 0, -1]]
        colors = rng.integers(0, 256, (4000, 3)).astype(np.uint8)
        radius = np.full(4000, 0.05, np.float32)
        radius[5] = np.nan
        out = render_points(
            points, colors, np.eye(4), [40, 40, 32, 24], 64, 48, radius=radius,
            settings=RenderSettings(backend=backend),
        )  # fmt: skip
        assert out.mask.any()
        assert (out.depth[out.mask] > 0).all() and np.isfinite(out.depth).all()

    def test_all_points_behind_the_camera(self):
        points = np.array([[0, 0, -1.0], [0.1, 0, -2.0]], np.float32)
        out = render_points(points, np.full((2, 3), 255, np.uint8), np.eye(4), [50, 50, 16, 12], 32, 24)
        assert not out.mask.any()

    def test_bad_shapes_raise_shotsmith_errors(self):
        from shotsmith.errors import ShotsmithError

        with pytest.raises(ShotsmithError, match="points"):
            render_points(np.zeros((4, 2)), np.zeros((4, 3), np.uint8), np.eye(4), [1, 1, 1, 1], 4, 4)
        with pytest.raises(ShotsmithError, match="colors"):
            render_points(np.zeros((4, 3)), np.zeros((3, 3), np.uint8), np.eye(4), [1, 1, 1, 1], 4, 4)
        with pytest.raises(ShotsmithError, match="backend"):
            RenderSettings(backend="cuda")  # type: ignore[arg-type]


class TestRenderPath:
    def test_frames_match_single_renders(self, textured_image, smooth_depth):
        f = 110.0
        points = unproject(smooth_depth, f)
        colors = textured_image.reshape(-1, 3)
        radius = point_radius(points, np.eye(4), f)
        poses = np.stack([pose(yaw_deg=a) for a in (0.0, 3.0, 6.0)])
        cam = CameraPath(world_from_camera=poses, intrinsics=[f, f, 64, 48], width=128, height=96)
        video = render_path(points, colors, cam, radius=radius, progress="render")
        assert video.rgb.shape == (3, 96, 128, 3) and video.mask.shape == (3, 96, 128)
        assert video.depth.shape == (3, 96, 128) and len(video) == 3
        single = render_points(points, colors, poses[2], [f, f, 64, 48], 128, 96, radius=radius)
        np.testing.assert_array_equal(video.rgb[2], single.rgb)
        np.testing.assert_array_equal(video.mask[2], single.mask)

    def test_empty_cache_renders_empty_video(self):
        cam = CameraPath(
            world_from_camera=np.eye(4)[None].repeat(2, 0), intrinsics=[20, 20, 8, 8], width=16, height=16
        )
        video = render_path(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), cam)
        assert video.rgb.shape == (2, 16, 16, 3) and not video.mask.any()


class TestPointRadius:
    def test_one_source_pixel_at_the_point_depth(self):
        points = np.array([[0, 0, 1.0], [1, 1, 4.0]], np.float32)
        np.testing.assert_allclose(
            point_radius(points, np.eye(4), 100.0, factor=1.0), [0.01, 0.04], rtol=1e-6
        )

    def test_source_pose_is_honoured(self):
        src = pose(yaw_deg=90, t=(1.0, 0.0, 0.0))  # looks along world +x... from x = 1
        points = np.array([[3.0, 0.0, 0.0]], np.float32)
        np.testing.assert_allclose(point_radius(points, src, 50.0, factor=0.5), [0.5 * 2.0 / 50.0], rtol=1e-6)


def test_render_path_into_a_given_video_reports_each_frame():
    from shotsmith.camera import CameraPath
    from shotsmith.errors import InputError
    from shotsmith.render import empty_video, render_path

    rng = np.random.default_rng(3)
    pts = np.c_[rng.uniform(-0.5, 0.5, (500, 2)), rng.uniform(1.0, 2.0, 500)].astype(np.float32)
    cols = rng.integers(0, 256, (500, 3), dtype=np.uint8)
    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[:, 0, 3] = [0.0, 0.05, 0.1]
    cam = CameraPath(world_from_camera=poses, intrinsics=[40, 40, 16, 12], width=32, height=24)
    plain = render_path(pts, cols, cam)
    video = empty_video(3, 32, 24)
    video.rgb[:] = 7  # stale content is overwritten
    seen = []
    out = render_path(pts, cols, cam, video=video, on_frame=seen.append)
    assert out is video and seen == [0, 1, 2]
    assert (video.rgb == plain.rgb).all() and (video.mask == plain.mask).all()
    assert (video.depth == plain.depth).all()
    with pytest.raises(InputError, match="frames"):
        render_path(pts, cols, cam, video=empty_video(2, 32, 24))


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_compiled_renderer_lets_idle_openmp_threads_sleep_unless_told(preset, expected):
    """numba's OpenMP threads spinning between the kernel's parallel regions took the CPU of the busy ones on
    loaded cores: importing the kernel sets OMP_WAIT_POLICY=PASSIVE, and keeps a value the user chose."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    code = "import os, shotsmith.render.fast; print(os.environ['OMP_WAIT_POLICY'])"
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert res.stdout.strip() == expected


class TestCompiledKernelInternals:
    """The numba kernel's own shortcuts: a vectorised exp whose float32 results must equal math.exp's, weights of
    small footprints computed ahead, and work arrays reused across calls and threads."""

    def test_fast_exp_gives_math_exp_float32_or_says_it_cannot(self):
        from shotsmith.render import fast

        rng = np.random.default_rng(0)
        x = np.concatenate([-rng.uniform(0, 80, 300_000), -rng.uniform(0, 4, 300_000), [0.0, -80.0]])
        # Arguments whose exp is (to double precision) a midpoint between two float32 values: the fast path
        # cannot tell which way they round and must hand them back.
        f = rng.uniform(1e-30, 1.0, 2000).astype(np.float32)
        mid = (f.astype(np.float64) + np.nextafter(f, np.float32(2)).astype(np.float64)) / 2
        x_mid = np.log(mid)
        bad = np.array([1.0, -80.5, np.nan, -np.inf, np.inf])
        xs = np.concatenate([x, x_mid, bad])
        p, scale, ok = np.empty_like(xs), np.empty_like(xs), np.empty(len(xs), bool)
        fast._exp_block(xs, p, scale, ok)
        w, ok2 = _to_f32_many(p, scale)
        ok &= ok2
        exact = np.exp(xs).astype(np.float32)
        assert (w[ok] == exact[ok]).all()
        assert ok[: len(x)].mean() > 0.999  # the slow path is rare
        assert not ok[len(x) : len(x) + len(x_mid)].any()  # and taken at every midpoint
        assert not ok[-len(bad) :].any()  # and outside [-80, 0]
        np.testing.assert_allclose(p[: len(x)] * scale[: len(x)], np.exp(x), rtol=1e-14)

    @pytest.mark.parametrize("round_fp", [False, True])
    def test_small_footprint_weights_match_the_exact_ones(self, round_fp):
        from shotsmith.render import fast

        rng = np.random.default_rng(1)
        n = 200
        u, v = rng.uniform(3, 50, n), rng.uniform(3, 50, n)
        e = rng.uniform(0.5, 0.99, n)
        sr = 0.5 * e / (2**0.5 if round_fp else 1.0)
        x0, y0 = np.ceil(u - e - 0.5), np.ceil(v - e - 0.5)
        w4, ok = np.empty(4 * n, np.float32), np.empty(n, bool)
        work = [np.empty(4 * n), np.empty(4 * n), np.empty(4 * n), np.empty(4 * n, bool)]
        fast._small_weights(u, v, e, sr, x0, y0, round_fp, w4, ok, *work)
        assert ok.mean() > 0.99
        for t in np.flatnonzero(ok):
            exact = np.empty(4, np.float32)
            fast._small_weights_exact(u[t], v[t], e[t], sr[t], x0[t], y0[t], round_fp, exact)
            assert (w4[4 * t : 4 * t + 4] == exact).all()
        if round_fp:
            assert (w4 == 0).any()  # corners the disc leaves out

    def _dense_scene(self):
        """A dense per-pixel cache seen while dollying in: single-pixel, 2x2 and larger footprints."""
        f, w, h = 120.0, 160, 120
        ys, xs = np.mgrid[0:h, 0:w] / np.array([h, w], float)[:, None, None]
        depth = (1.0 + 0.3 * ys + 0.1 * np.sin(9 * xs)).astype(np.float32)
        depth[40:70, 50:90] = 0.6
        points = unproject(depth, f)
        rng = np.random.default_rng(2)
        colors = rng.integers(0, 256, (len(points), 3), dtype=np.uint8)
        return points, colors, point_radius(points, np.eye(4), f), f

    @pytest.mark.parametrize("footprint", ["square", "round"])
    def test_dense_dolly_matches_the_reference(self, footprint):
        points, colors, radius, f = self._dense_scene()
        cam = pose(yaw_deg=3, t=(0.02, 0.0, 0.3))
        outs = {
            b: render_points(points, colors, cam, [0.8 * f, 0.8 * f, 64, 48], 128, 96, radius=radius,
                             settings=RenderSettings(backend=b, footprint=footprint))
            for b in ("numba", "reference")
        }  # fmt: skip
        a, ref = outs["numba"], outs["reference"]
        assert ref.mask.mean() > 0.9
        np.testing.assert_array_equal(a.mask, ref.mask)
        assert np.abs(a.rgb.astype(int) - ref.rgb).max() <= 1
        np.testing.assert_allclose(a.depth, ref.depth, atol=1e-4)

    def test_work_arrays_reused_across_sizes_and_threads_change_nothing(self):
        from concurrent.futures import ThreadPoolExecutor

        points, colors, radius, f = self._dense_scene()
        small = (points[::7], colors[::7], radius[::7])
        jobs = [
            (points, colors, radius, pose(t=(0.0, 0.0, 0.2)), 128, 96),
            (*small, pose(yaw_deg=-4), 200, 150),
            (points, colors, radius, pose(pitch_deg=2), 64, 40),
        ]

        def one(job):
            p, c, r, cam, w, h = job
            return render_points(p, c, cam, [f, f, w / 2, h / 2], w, h, radius=r)

        first = [one(j) for j in jobs]  # scratch grows, then is reused by smaller renders
        with ThreadPoolExecutor(3) as pool:
            again = list(pool.map(one, jobs * 3))  # three threads at once, each with its own scratch
        for k, out in enumerate(again):
            ref = first[k % len(jobs)]
            assert (out.rgb == ref.rgb).all() and (out.mask == ref.mask).all()
            assert (out.depth.view(np.int32) == ref.depth.view(np.int32)).all()


def _to_f32_many(p: np.ndarray, scale: np.ndarray):
    from numba import njit

    from shotsmith.render import fast

    @njit(cache=False)
    def run(p, scale, w, ok):
        for i in range(p.shape[0]):
            w[i], ok[i] = fast._to_f32(p[i], scale[i])

    w, ok = np.empty(len(p), np.float32), np.empty(len(p), bool)
    run(p, scale, w, ok)
    return w, ok


def test_the_compiled_kernel_fills_strided_output_arrays_too():
    """fast.render writes through flat views; arrays that are not contiguous (a crop of a bigger frame) are
    filled by a copy, with the same result."""
    from shotsmith.render import _frame, _prepare, fast
    from shotsmith.render.types import RenderOutput

    rng = np.random.default_rng(4)
    pts = np.c_[rng.uniform(-0.5, 0.5, (3000, 2)), rng.uniform(1.0, 2.0, 3000)].astype(np.float32)
    cols = rng.integers(0, 256, (3000, 3), dtype=np.uint8)
    p, c, r = _prepare(pts, cols, np.full(3000, 0.01, np.float32))
    frame = _frame(np.eye(4), [40, 40, 16, 12], 32, 24)
    plain = fast.render(p, c, r, frame, RenderSettings())
    big = RenderOutput(
        np.zeros((24, 64, 3), np.uint8), np.zeros((24, 64), bool), np.zeros((24, 64), np.float32)
    )
    view = RenderOutput(big.rgb[:, ::2], big.mask[:, ::2], big.depth[:, ::2])
    fast.render(p, c, r, frame, RenderSettings(), out=view)
    assert (big.rgb[:, ::2] == plain.rgb).all() and (big.mask[:, ::2] == plain.mask).all()
    assert (big.depth[:, ::2] == plain.depth).all() and plain.mask.mean() > 0.5
    assert not big.mask[:, 1::2].any()  # the other columns untouched
