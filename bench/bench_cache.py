"""3D-cache benchmark: `build-3d-cache` time for a 1 MP photo, peak memory for a 4K photo, and the prior's quality.

Each case runs in its own process, so its peak resident memory (ru_maxrss) is its own. Targets (issue 4): the cache
of a 1 MP image builds in ~2-3 s with the prior (cache + render of 81 frames under 15 s); a 4K photo stays under
4 GB peak; the prior alone on a 1224x816 photo takes under 1.5 s (measured ~0.45 s). Quality: Spearman rank correlation of the prior's depth with the real disparity of scikit-image's
`stereo_motorcycle` (nearer = larger disparity), beside a "lower rows are nearer" baseline.
Run: .venv/bin/python bench/bench_cache.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CASES = {
    "1mp": (1200, 860),
    "4k": (3840, 2160),
}


def _photo(path: Path, width: int, height: int) -> None:
    import cv2
    from PIL import Image
    from skimage import data

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(img).save(path, quality=92)


def child(case: str) -> dict:
    """Build a cache for one case in a fresh workspace; return its numbers."""
    from shotsmith import workspace as W
    from shotsmith.artifacts import read_cache_info
    from shotsmith.stage import execute
    from shotsmith.stages.build_cache import STAGE, Config

    width, height = CASES[case]
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / f"photo_{case}.jpg"
        _photo(photo, width, height)
        ws = W.Workspace(Path(tmp) / "ws")
        start = time.perf_counter()
        rec = execute(ws, STAGE, Config(image=str(photo), depth="prior"))
        seconds = time.perf_counter() - start
        info = read_cache_info(ws)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "case": case,
        "image": f"{width}x{height}",
        "cache": f"{info.width}x{info.height}",
        "points": info.num_points,
        "flying": info.num_flying_pixels,
        "seconds": seconds,
        "seconds_depth": rec.extra.get("seconds_depth", float("nan")),
        "peak_mb": peak_mb,
    }


def prior_quality() -> dict:
    from scipy.stats import spearmanr
    from skimage import data

    from shotsmith.backends.depth.prior import prior_depth

    left, _, disparity = data.stereo_motorcycle()
    valid = np.isfinite(disparity) & (disparity > 0)
    start = time.perf_counter()
    depth = prior_depth(left)
    seconds = time.perf_counter() - start
    rows = np.broadcast_to(np.arange(left.shape[0])[:, None], left.shape[:2])
    return {
        "spearman_prior": float(spearmanr(-depth[valid], disparity[valid])[0]),
        "spearman_rows": float(spearmanr(rows[valid], disparity[valid])[0]),
        "seconds": seconds,
        "size": f"{left.shape[1]}x{left.shape[0]}",
    }


def prior_speed(width: int = 1224, height: int = 816, repeats: int = 3) -> float:
    """Best time (s) of `prior_depth` on the astronaut resized to width x height, after a warm-up call."""
    import cv2
    from skimage import data

    from shotsmith.backends.depth.prior import prior_depth

    img = cv2.resize(data.astronaut(), (width, height))
    prior_depth(img[:64, :64])  # imports
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        prior_depth(img)
        best = min(best, time.perf_counter() - start)
    return best


def video_prior_speed(frames: int = 12, width: int = 1280, height: int = 720) -> dict:
    """The prior on `frames` 720p video frames (the astronaut panning): the plain loop vs `depth_of_frames`
    (a thread pool; issue 19), best of 2 each, and whether both gave the same depths."""
    import cv2
    from skimage import data

    from shotsmith.backends.depth import depth_of_frames
    from shotsmith.backends.depth.prior import PriorDepth

    wide = cv2.resize(data.astronaut(), (width + 4 * frames, height))
    clip = np.stack([wide[:, 4 * t : 4 * t + width] for t in range(frames)])
    backend = PriorDepth()
    backend(clip[0, :64, :64])  # imports
    serial_s, pooled_s = float("inf"), float("inf")
    for _ in range(2):
        start = time.perf_counter()
        serial = [backend(f).depth for f in clip]
        serial_s = min(serial_s, time.perf_counter() - start)
        start = time.perf_counter()
        pooled = [r.depth for r in depth_of_frames(backend, clip)]
        pooled_s = min(pooled_s, time.perf_counter() - start)
    same = all(np.array_equal(a, b) for a, b in zip(serial, pooled, strict=True))
    return {"frames": frames, "serial_s": serial_s, "pooled_s": pooled_s, "same": same}


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2])))
        return 0
    rows = []
    for case in CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", case],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        if out.returncode:
            print(out.stderr[-2000:])
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"{'case':<5} {'image':>10} {'cache':>10} {'points':>9} {'flying':>7} {'depth s':>8} {'total s':>8} {'peak MB':>8}"
    )
    for r in rows:
        print(
            f"{r['case']:<5} {r['image']:>10} {r['cache']:>10} {r['points']:>9,} {r['flying']:>7,} "
            f"{r['seconds_depth']:>8.2f} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f}"
        )
    q = prior_quality()
    print(
        f"\nprior on stereo_motorcycle ({q['size']}, {q['seconds']:.2f} s): Spearman with true disparity "
        f"{q['spearman_prior']:.3f} (rows-only baseline {q['spearman_rows']:.3f})"
    )
    prior_s = prior_speed()
    print(f"prior alone on a 1224x816 photo: {prior_s:.2f} s")
    v = video_prior_speed()
    print(
        f"prior on {v['frames']} 720p video frames ({os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}): "
        f"loop {v['serial_s']:.2f} s, depth_of_frames {v['pooled_s']:.2f} s "
        f"({v['serial_s'] / v['pooled_s']:.2f}x), depths identical: {v['same']}"
    )
    ok = (
        rows[0]["seconds"] < 3.0 and rows[1]["peak_mb"] < 4096 and q["spearman_prior"] > 0.5 and prior_s < 1.5
    )
    print(
        "targets: 1 MP cache < 3 s, 4K peak < 4 GB, Spearman > 0.5, 1224x816 prior < 1.5 s:",
        "met" if ok else "NOT met",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
