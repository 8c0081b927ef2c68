"""Trajectory plot speed: `plot_trajectory` (the PNG beside every trajectory.json and eval/) on 81-frame paths.

Times, after one warm-up plot (matplotlib's import and font cache), the best of 3 plots of `arc_right+dolly_in`
alone and of ReCamMaster's 9 against its 10 (reference overlay, metres). Target: under 1 s each on this 2-core
machine (the unit test tests/test_plot.py checks the PNG, not the time). Exit 1 when a target is missed.
Run: .venv/bin/python bench/bench_plot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHOTSMITH_QUIET", "1")

TARGET_S = 1.0


def best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    from shotsmith.plot import plot_trajectory
    from shotsmith.presets import path_from_spec

    cam = path_from_spec("arc_right+dolly_in")
    est, ref = path_from_spec("recammaster:9"), path_from_spec("recammaster:10")
    with tempfile.TemporaryDirectory(prefix="bench-plot-") as tmp:
        tmp = Path(tmp)
        plot_trajectory(cam, tmp / "warmup.png")  # imports matplotlib
        rows = [
            (
                f"arc_right+dolly_in ({len(cam)} frames)",
                best_of(lambda: plot_trajectory(cam, tmp / "t.png", title="arc")),
            ),
            (
                f"recammaster:9 vs :10 ({len(est)} frames, reference)",
                best_of(
                    lambda: plot_trajectory(
                        est, tmp / "vs.png", reference=ref, label="estimated", reference_label="planned"
                    )
                ),
            ),
        ]
    width = max(len(name) for name, _ in rows)
    print(f"{'plot_trajectory'.ljust(width)}  {'seconds':>8}  target")
    ok = True
    for name, seconds in rows:
        met = seconds < TARGET_S
        ok = ok and met
        print(f"{name.ljust(width)}  {seconds:>8.2f}  < {TARGET_S:g} s: {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
