"""`depth_of_frames`: the embedded prior on a video's frames in a thread pool gives the plain loop's depths."""

from __future__ import annotations

import threading

import numpy as np

from shotsmith.backends.depth import DepthBackend, DepthResult, depth_of_frames
from shotsmith.backends.depth.prior import PriorDepth


def frames_with_a_box(n: int = 6, height: int = 120, width: int = 160) -> np.ndarray:
    """A red box sliding right in front of a noisy two-tone wall and floor (a figure the prior segments)."""
    rng = np.random.default_rng(7)
    out = np.zeros((n, height, width, 3), np.uint8)
    for t in range(n):
        img = np.where(np.arange(height)[:, None, None] < height * 0.6, (150, 140, 120), (110, 80, 50))
        img = np.clip(img + rng.normal(0, 12, (height, width, 3)), 0, 255)
        x0 = 30 + 8 * t
        img[25:100, x0 : x0 + 45] = (200, 40, 30)
        out[t] = img.astype(np.uint8)
    return out


def test_prior_in_threads_equals_the_plain_loop():
    frames = frames_with_a_box()
    backend = PriorDepth()
    assert backend.frame_threads
    serial = [backend(f).depth for f in frames]  # each frame has a figure: GrabCut runs (checked)
    threaded = [r.depth for r in depth_of_frames(backend, frames, threads=3)]
    assert len(threaded) == len(frames)
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)  # identical, not merely close: GrabCut's RNG is per thread
    assert not np.array_equal(serial[0], serial[-1])  # the frames differ, so an order mix-up would show


class Recorder(DepthBackend):
    """Depth = the frame's first pixel; records the threads it ran on."""

    name = "recorder"

    def __init__(self, threads: bool) -> None:
        self.frame_threads = threads
        self.seen: list[str] = []

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        self.seen.append(threading.current_thread().name)
        return DepthResult(np.full((2, 2), float(rgb[0, 0, 0]) + 1, np.float32), "relative")


def test_order_kept_and_threads_only_when_the_backend_allows():
    frames = np.arange(11, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    for allow in (False, True):
        backend = Recorder(allow)
        got = [float(r.depth[0, 0]) for r in depth_of_frames(backend, frames, threads=4)]
        assert got == [float(t) + 1 for t in range(11)]
        pooled = [name.startswith("depth-recorder") for name in backend.seen]
        assert all(pooled) if allow else not any(pooled)


class Dirty(DepthBackend):
    """float64 depth with NaN, +-inf, negative and zero values, and a mask."""

    name = "dirty"
    frame_threads = True

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        k = float(rgb[0, 0, 0])
        d = np.array([[np.nan, np.inf, -np.inf, -1.0], [0.0, 1.0 + k, 2.5, 1e-30], [3.0, 4.0, 5.0, 6.0]])
        mask = np.ones((3, 4), bool)
        mask[2, 1] = False
        return DepthResult(d / 3.0, "relative", mask=mask)


def test_depth_for_frames_cleans_each_frame_like_sanitize_depth_and_the_mask():
    """Invalid values and masked pixels are 0, the rest the backend's depth at float32 (sanitize_depth's rule)."""
    from shotsmith.geometry import sanitize_depth
    from shotsmith.recapture import depth_for_frames

    frames = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 4, 3), np.uint8)
    got, _, _ = depth_for_frames(frames, Dirty())
    assert got.dtype == np.float32 and got.shape == (3, 3, 4)
    for t in range(3):
        res = Dirty()(frames[t])
        want = np.where(res.mask, sanitize_depth(res.depth)[0], np.float32(0))
        np.testing.assert_array_equal(got[t], want)
    assert (got[:, 0] == 0).all() and got[0, 2, 1] == 0 and got[1, 1, 1] == np.float32(2.0 / 3.0)
