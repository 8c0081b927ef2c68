"""`shotsmith evaluate` speed and accuracy: 81 frames at 832x480 (the shot default), target under 3 minutes.

Renders the synthetic textured room (`shotsmith.evaluate.render_box_room`) along a known path (truck right
0.6, dolly in 0.3, pan right 20 degrees), writes it as H.264 mp4 like a generated shot, then times the whole
standalone command path (read video, SIFT, matching, mapper, metrics, plot) and prints the parts and the
errors against the known path. Exit 1 when the time target is missed.
Run: .venv/bin/python bench/bench_evaluate.py [--frames 81] [--size 832x480] [--trials 1] [--mapper global]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from shotsmith.camera import CameraPath, default_intrinsics, make_pose
from shotsmith.evaluate import render_box_room
from shotsmith.formats import write_trajectory
from shotsmith.media import write_video
from shotsmith.stages.evaluate import EvaluateConfig, run_standalone

TARGET_S = 180.0


def known_path(frames: int, width: int, height: int) -> CameraPath:
    s = np.linspace(0.0, 1.0, frames)
    rot = Rotation.from_euler("y", (20.0 * s)[:, None], degrees=True).as_matrix()
    mats = make_pose(rot, s[:, None] * np.array([0.6, 0.0, 0.3]))
    return CameraPath(mats, default_intrinsics(width, height), width, height, 16.0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--mapper", default="global")
    ap.add_argument("--max-features", type=int, default=4096)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    plan = known_path(args.frames, width, height)
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        frames = render_box_room(plan)
        write_video(tmp / "shot.mp4", frames, fps=plan.fps)
        write_trajectory(tmp / "trajectory.json", plan)
        prep = time.perf_counter() - t0
        cfg = EvaluateConfig(trials=args.trials, mapper=args.mapper, max_features=args.max_features)
        t0 = time.perf_counter()
        run_standalone(tmp / "shot.mp4", tmp / "trajectory.json", tmp / "eval", cfg)
        total = time.perf_counter() - t0
        data = json.loads((tmp / "eval" / "metrics.json").read_text())
    m, t = data["metrics"], data["timings"]
    rows = [
        ("video", f"{args.frames} frames {width}x{height}, mapper {args.mapper}, trials {args.trials}"),
        ("render + encode (not timed)", f"{prep:.1f} s"),
        ("SIFT extraction", f"{t['extract_s']:.1f} s"),
        ("sequential matching", f"{t['match_s']:.1f} s"),
        ("mapper (all trials)", f"{t['map_s']:.1f} s"),
        ("evaluate total", f"{total:.1f} s (target < {TARGET_S:.0f} s)"),
        ("registered", f"{m['registered_fraction']:.0%}"),
        ("RotErr sum / per frame", f"{m['rot_err']:.4f} / {m['rot_err_per_frame']:.5f} rad"),
        ("TransErr / CamMC (sums)", f"{m['trans_err']:.4f} / {m['cam_mc']:.4f}"),
        ("ATE (plan extents)", f"{m['ate']:.4f}"),
        ("RPE rotation", f"{m['rpe_rot_deg']:.4f} deg"),
        ("reprojection error", f"{m['reprojection_error_px']:.3f} px"),
        (
            "motion-tag F1 vs plan",
            "n/a" if m["motion_tag_f1_vs_plan"] is None else f"{m['motion_tag_f1_vs_plan']:.2f}",
        ),
    ]
    width_col = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width_col}}  {value}")
    ok = total < TARGET_S
    print(
        f"{'PASS' if ok else 'FAIL'}: evaluate of {args.frames} frames at {width}x{height} in {total:.1f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
