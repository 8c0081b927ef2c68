"""The demo's job timed: `shotsmith run` on the bundled photo, 81 frames at 832x480, embedded backends.

Target (issue 6): under 60 s on this 2-core machine, cache build + plan + render + generate. Prints per-stage
seconds; runs twice: cold (fresh workspace, includes numba compilation if its cache is cold) and a forced rerun.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHOTSMITH_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from shotsmith.pipeline import RunConfig, run_shot
    from shotsmith.stages import build_cache, generate, plan_trajectory

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, force in (("cold", False), ("forced rerun", True)):
            cfg = RunConfig(
                prompt="an astronaut portrait, slow dolly in then pan left",
                image=str(ROOT / "assets" / "astronaut.png"),
                workspace=str(Path(tmp) / "demo"),
                plan=plan_trajectory.Config(cam="dolly_in,pan_left"),
                cache=build_cache.Config(depth="prior"),
                generate=generate.Config(generator="inpaint"),
            )
            start = time.perf_counter()
            _, lines = run_shot(cfg, force=force)
            total = time.perf_counter() - start
            rows.append((label, lines, total))
    print(f"{'run':14s} {'stage':18s} {'backend':14s} {'seconds':>8s}")
    for label, lines, total in rows:
        for line in lines:
            print(f"{label:14s} {line.stage:18s} {line.backend:14s} {line.seconds:8.2f}")
        verdict = "ok" if total < 60 else "OVER"
        print(f"{label:14s} {'total':18s} {'':14s} {total:8.2f}  (target < 60 s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
