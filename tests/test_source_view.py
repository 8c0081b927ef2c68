"""The frame-0 promise: a frame at the source camera is the photo (resized and centre-cropped), for every
generator; the photo fades out over the next frames as the camera moves (`fill.source_view_frames`, applied by
the `generate` stage). Scenes are made here: a textured photo with a near box whose depth edges the flying-pixel
filter drops, rendered along a dolly-in into a shot of another aspect ratio."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from shotsmith.camera import CameraPath, fit_intrinsics, make_pose
from shotsmith.fill import (
    complete_with_source_view,
    compose_source_view,
    source_canvas,
    source_view_frames,
    unproject,
)
from shotsmith.geometry import flying_pixel_mask
from shotsmith.render import render_path

SW, SH = 200, 150  # the photo (4:3)
TW, TH = 96, 54  # the shot (16:9): a cover crop
F_SRC = 180.0


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(d[mask].mean() if mask is not None else d.mean())
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def cover(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo centre-cropped to the shot's aspect and resized (what a viewer expects frame 0 to be)."""
    from PIL import Image, ImageOps

    return np.asarray(ImageOps.fit(Image.fromarray(img), (width, height), Image.Resampling.BICUBIC))


def cover_cv2(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """The same with whole-pixel rounding and OpenCV's area filter: another reading of "resized and cropped"."""
    sh, sw = img.shape[:2]
    s = max(width / sw, height / sh)
    r = cv2.resize(img, (round(sw * s), round(sh * s)), interpolation=cv2.INTER_AREA)
    y0, x0 = (r.shape[0] - height) // 2, (r.shape[1] - width) // 2
    return r[y0 : y0 + height, x0 : x0 + width]


def photo_and_depth() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:SH, 0:SW]
    # smooth colours, a luminance texture and a little noise (H.264's 4:2:0 chroma would smear colour noise)
    lum = 40 * np.sin(x / 6.0) * np.cos(y / 4.0) + rng.normal(0, 4, (SH, SW))
    img = np.stack([60 + 0.6 * x, 80 + 0.8 * y, 150 + 0.2 * (x - y)], -1) + lum[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    depth = np.full((SH, SW), 2.0, np.float32)
    box = (slice(50, 110), slice(70, 140))
    depth[box] = 1.0
    img[box] = np.clip(img[box] * 0.4 + np.array([200, 40, 30]) * 0.6, 0, 255).astype(np.uint8)
    # the cache drops the pixels at the box's edges, as GEN3C's flying-pixel filter does
    return img, np.where(flying_pixel_mask(depth), depth, 0).astype(np.float32)


def dolly(frames: int, distance: float) -> CameraPath:
    intr = fit_intrinsics(np.array([F_SRC, F_SRC, SW / 2, SH / 2]), (SW, SH), (TW, TH))
    ts = np.linspace(0, 1, frames) ** 2  # eases in, like the presets
    poses = make_pose(np.repeat(np.eye(3)[None], frames, 0), np.stack([0 * ts, 0 * ts, distance * ts], 1))
    return CameraPath(poses, intr, TW, TH, fps=16.0)


def guidance(img, depth, cams):
    intr = np.array([F_SRC, F_SRC, SW / 2, SH / 2])
    pts, rc = unproject(depth, intr, np.eye(4))
    return render_path(pts, img[rc[:, 0], rc[:, 1]], cams, radius=depth[rc[:, 0], rc[:, 1]] / F_SRC * 0.7)


@pytest.fixture(scope="module")
def scene():
    img, depth = photo_and_depth()
    cams = dolly(24, 0.4)
    g = guidance(img, depth, cams)
    sv = source_view_frames(cams, g.mask, g.depth, img, depth, np.array([F_SRC, F_SRC, SW / 2, SH / 2]))
    return img, depth, cams, g, sv


def test_frame_zero_of_any_generator_is_the_photo(scene):
    img, depth, cams, g, sv = scene
    assert (depth == 0).mean() > 0.03  # the filter dropped the box's edges: the guidance has holes there
    assert 0.02 < (~g.mask[0]).mean() < 0.2
    ref = cover(img, TW, TH)
    bad = np.zeros((len(cams), TH, TW, 3), np.uint8)  # a generator that fills nothing right: black everywhere
    out = compose_source_view(bad, sv)
    assert sv.index[0] == 0 and sv.fade[0] == 1.0 and (sv.weight[0] == 1.0).all()
    # frame 0 is the photo resized and centre-cropped: covered pixels and the dropped ones alike
    # exactly ImageOps.fit(photo): covered and dropped pixels alike; other rounding conventions agree to a
    # fraction of a pixel
    np.testing.assert_array_equal(out[0], ref)
    assert psnr(out[0], cover_cv2(img, TW, TH)) > 30
    canvas, k, ref_k = source_canvas(img, np.array([F_SRC, F_SRC, SW / 2, SH / 2]), TW, TH)
    x0, y0 = int(k[2] - ref_k[2]), int(k[3] - ref_k[3])
    np.testing.assert_array_equal(out[0], canvas[y0 : y0 + TH, x0 : x0 + TW])  # the canvas crop
    # the guidance render itself is much farther from the photo where the cache dropped pixels
    assert psnr(g.rgb[0], ref) < psnr(out[0], ref) - 10


def test_photo_fades_out_as_the_camera_moves(scene):
    img, depth, cams, g, sv = scene
    fade = sv.fade
    assert (np.diff(fade) <= 1e-6).all()  # the dolly only moves away from the source
    assert fade[-1] == 0.0 and 1 < len(sv) < len(cams)  # a few frames, not the whole shot
    assert np.abs(np.diff(fade)).max() < 0.5  # no frame jumps from the photo to the generator
    video = np.full((len(cams), TH, TW, 3), 90, np.uint8)
    out = compose_source_view(video, sv)
    later = [t for t in range(len(cams)) if t not in set(sv.index.tolist())]
    np.testing.assert_array_equal(out[later], video[later])  # past the fade: the generator's own frames
    # while fading, covered pixels show the photo moved with the scene: close to the guidance render
    k = len(sv) // 2
    t = int(sv.index[k])
    cov = g.mask[t] & (sv.weight[k] > 0)
    assert psnr(sv.rgb[k], g.rgb[t], cov) > 25
    # uncovered pixels lose the photo sooner (their depth is uncertain) than covered ones
    unc = ~g.mask[t]
    assert sv.weight[k][unc].mean() <= sv.weight[k][g.mask[t]].mean()


def test_no_parallax_keeps_the_photo_on_uncovered_pixels():
    """A pure zoom from the source camera: every depth puts a pixel at the same place in the photo, so the
    dropped pixels keep the photo's colour as long as the covered ones (fade alone)."""
    img, depth = photo_and_depth()
    intr = fit_intrinsics(np.array([F_SRC, F_SRC, SW / 2, SH / 2]), (SW, SH), (TW, TH))
    zoom = np.linspace(1.0, 1.05, 6)
    k = np.stack([intr * np.array([z, z, 1, 1]) for z in zoom])
    cams = CameraPath(np.repeat(np.eye(4)[None], 6, 0), k, TW, TH, fps=16.0)
    g = guidance(img, depth, cams)
    sv = source_view_frames(cams, g.mask, g.depth, img, depth, np.array([F_SRC, F_SRC, SW / 2, SH / 2]))
    for i, t in enumerate(sv.index):
        np.testing.assert_allclose(sv.weight[i], sv.fade[t], atol=1e-6)


def test_objects_and_surfaces_not_in_the_photo_keep_the_generator(scene):
    img, depth, cams, g, _ = scene
    obj = np.zeros(g.mask.shape, bool)
    obj[:, 10:20, 10:30] = True
    gd = g.depth.copy()
    gd[:, 30:40, 40:60] *= 0.5  # a fused object: a covered surface nearer than the photo's surface there
    sv = source_view_frames(
        cams, g.mask, gd, img, depth, np.array([F_SRC, F_SRC, SW / 2, SH / 2]), object_mask=obj
    )
    assert (sv.weight[0][10:20, 10:30] == 0).all()
    fused = g.mask[0, 30:40, 40:60]
    assert (sv.weight[0][30:40, 40:60][fused] == 0).all()
    video = np.full((len(cams), TH, TW, 3), 77, np.uint8)
    assert (compose_source_view(video, sv)[0, 10:20, 10:30] == 77).all()


def test_completed_guidance_marks_frame_zero_covered(scene):
    img, depth, cams, g, sv = scene
    rgb, mask, dep = complete_with_source_view(g.rgb, g.mask, g.depth, sv)
    assert mask[0].all() and (dep[0] > 0).all()
    np.testing.assert_array_equal(rgb[0], compose_source_view(g.rgb, sv)[0])
    later = sv.weight.shape[0]
    assert (mask[later:] == g.mask[later:]).all()  # frames past the fade keep their own guidance
    assert not g.mask[0].all()  # the inputs are kept


def test_far_from_the_source_nothing_is_blended():
    img, depth = photo_and_depth()
    cams = dolly(5, 0.4)
    moved = CameraPath(cams.world_from_camera.copy(), cams.intrinsics, TW, TH, fps=16.0)
    moved.world_from_camera[:, 0, 3] += 0.3  # the whole path starts off the source camera
    g = guidance(img, depth, moved)
    sv = source_view_frames(moved, g.mask, g.depth, img, depth, np.array([F_SRC, F_SRC, SW / 2, SH / 2]))
    assert len(sv) == 0 and (sv.fade == 0).all()


def test_run_frame_zero_is_the_photo(cli, tmp_path):
    """`shotsmith run` end to end (prior depth, inpaint): output frame 0 is the photo centre-cropped and resized,
    within 30 dB (H.264 limits it), the pixels the cache dropped included."""
    from shotsmith import artifacts as A
    from shotsmith import workspace as W
    from shotsmith.media import read_video, write_image, write_video

    img, _ = photo_and_depth()
    path = tmp_path / "photo.png"
    write_image(path, img)
    ws = tmp_path / "ws"
    # GEN3C's filter (--filter-mode range): the cache drops pixels at depth edges, which frame 0 must still show
    args = "--cam dolly_in --frames 9 --size 96x54 --depth prior --generator inpaint --filter-mode range"
    code, _, err = cli("run", "a red box", "--image", path, "-w", ws, *args.split())
    assert code == 0, err
    frames, _ = read_video(ws / W.OUTPUT_VIDEO)
    ref = cover(img, 96, 54)
    g = A.read_guidance(W.Workspace(ws))
    assert not g.mask[0].all()  # the cache dropped pixels of the source view
    assert psnr(frames[0], ref) > 30, psnr(frames[0], ref)  # measured 35.6 dB
    assert psnr(frames[0], ref, ~g.mask[0]) > 30  # the dropped pixels too: the photo's, not an invented fill
    # as close as the video codec allows: the photo itself through H.264 measures 35.7 dB
    write_video(tmp_path / "photo.mp4", np.stack([ref] * 9), 16.0)
    alone, _ = read_video(tmp_path / "photo.mp4")
    assert psnr(frames[0], ref) > psnr(alone[0], ref) - 1.0


def test_completed_guidance_in_place_touches_only_the_source_view_frames(scene):
    img, depth, cams, g, sv = scene
    want = complete_with_source_view(g.rgb, g.mask, g.depth, sv)
    rgb, mask, dep = g.rgb.copy(), g.mask.copy(), g.depth.copy()
    got = complete_with_source_view(rgb, mask, dep, sv, inplace=True)
    assert got[0] is rgb and got[1] is mask and got[2] is dep  # no copy
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    later = int(sv.index.max()) + 1
    np.testing.assert_array_equal(rgb[later:], g.rgb[later:])


def test_composed_in_place_equals_the_copy_and_a_read_only_video_is_copied(scene):
    img, depth, cams, g, sv = scene
    video = np.random.default_rng(1).integers(0, 256, (len(cams), TH, TW, 3), dtype=np.uint8)
    want = compose_source_view(video, sv)
    assert not np.array_equal(want, video)  # it blends something
    own = video.copy()
    got = compose_source_view(own, sv, inplace=True)
    assert got is own
    np.testing.assert_array_equal(got, want)
    frozen = video.copy()
    frozen.flags.writeable = False
    kept = compose_source_view(frozen, sv, inplace=True)
    assert kept is not frozen and np.array_equal(frozen, video) and np.array_equal(kept, want)
