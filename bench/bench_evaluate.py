"""`shotsmith evaluate` speed and accuracy: 81 frames at 832x480 (the shot default), target 15 s (issue 19).

Renders the synthetic textured room (`shotsmith.evaluate.render_box_room`) along a known path, writes it as
H.264 mp4 like a generated shot, then times the whole standalone command path (read video, SIFT, matching,
mapper, rotation-only check, metrics, plot) and prints the parts and the errors against the known path.
Paths (--motion): "move" = truck right 0.6, dolly in 0.3, pan right 20 degrees (SfM); "pan" = pan right 45
degrees from a fixed centre (no parallax: the rotation-only model); "both" runs the two; "small" times
`evaluate_video` on the unit tests' room (tests/test_evaluate.py: 12 frames at 320x240, truck right 0.5 while
panning right 45 degrees, one trial), target under 60 s (~10 s measured); "all" (default) runs the three.
Exit 1 when a time target is missed.
Run: .venv/bin/python bench/bench_evaluate.py [--motion all|both|small|move|pan] [--frames 81] [--size 832x480]
     [--trials 1] [--mapper global] [--max-image-size 640] [--max-features 4096]
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
from shotsmith.stages.evaluate import Config as EvaluateConfig
from shotsmith.stages.evaluate import run_standalone

TARGET_S = 15.0
"""Issue 19: the standalone evaluate of 81 frames at 832x480 (issue 10 asked for under 180 s)."""
SMALL_TARGET_S = 60.0
#: RotErr per frame (rad) of each path before issue 19 (CamI2V's SIFT options: affine shape + domain-size pooling;
#: measured here on 2026-12-01, 81 frames at 832x480, global mapper, one trial). Issue 19: within 10 % of it.
BASELINE_ROT_PER_FRAME = {"move": 0.00164, "pan": 0.00011}


MOTIONS = {"move": (20.0, (0.6, 0.0, 0.3)), "pan": (45.0, (0.0, 0.0, 0.0))}


def known_path(frames: int, width: int, height: int, motion: str = "move") -> CameraPath:
    yaw, move = MOTIONS[motion]
    s = np.linspace(0.0, 1.0, frames)
    rot = Rotation.from_euler("y", (yaw * s)[:, None], degrees=True).as_matrix()
    mats = make_pose(rot, s[:, None] * np.array(move))
    return CameraPath(mats, default_intrinsics(width, height), width, height, 16.0)


def fmt(v, spec: str = ".4f") -> str:
    return "n/a" if v is None else format(v, spec)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--mapper", default="global")
    ap.add_argument("--max-features", type=int, default=EvaluateConfig.max_features)
    ap.add_argument("--max-image-size", type=int, default=EvaluateConfig.max_image_size)
    ap.add_argument("--motion", choices=("all", "both", "small", *MOTIONS), default="all")
    args = ap.parse_args(argv)
    ok = True
    if args.motion in ("all", "small"):
        ok = small_room()
        print()
    motions = list(MOTIONS) if args.motion in ("all", "both") else [args.motion]
    motions = [m for m in motions if m in MOTIONS]
    for motion in motions:
        ok = bench(args, motion) and ok
        print()
    return 0 if ok else 1


def small_room() -> bool:
    """`evaluate_video` (in memory: no video file) on the unit tests' 12-frame room."""
    from shotsmith.evaluate import SfmOptions, evaluate_video

    s = np.linspace(0.0, 1.0, 12)
    rot = Rotation.from_euler("y", (45.0 * s)[:, None], degrees=True).as_matrix()
    plan = CameraPath(
        make_pose(rot, s[:, None] * np.array([0.5, 0.0, 0.0])), default_intrinsics(320, 240), 320, 240, 16.0
    )
    frames = render_box_room(plan)
    t0 = time.perf_counter()
    report = evaluate_video(frames, plan, SfmOptions(), trials=1, text="truck right while panning right")
    seconds = time.perf_counter() - t0
    ok = seconds < SMALL_TARGET_S
    print(f"{'path':<28}  small: truck right 0.5 while panning right 45 deg (tests/test_evaluate.py)")
    print(f"{'video':<28}  12 frames 320x240, in memory, trials 1")
    print(f"{'registered trials':<28}  {report.ok_trials} of 1")
    print(f"{'evaluate_video':<28}  {seconds:.1f} s (target < {SMALL_TARGET_S:.0f} s)")
    print(f"{'PASS' if ok else 'FAIL'}: evaluate_video of the 12-frame test room in {seconds:.1f} s")
    return ok


def bench(args, motion: str) -> bool:
    width, height = (int(v) for v in args.size.lower().split("x"))
    plan = known_path(args.frames, width, height, motion)
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        frames = render_box_room(plan)
        write_video(tmp / "shot.mp4", frames, fps=plan.fps)
        write_trajectory(tmp / "trajectory.json", plan)
        prep = time.perf_counter() - t0
        cfg = EvaluateConfig(
            video=str(tmp / "shot.mp4"),
            trajectory=str(tmp / "trajectory.json"),
            output=str(tmp / "eval"),
            trials=args.trials,
            mapper=args.mapper,
            max_features=args.max_features,
            max_image_size=args.max_image_size,
        )
        t0, cpu0 = time.perf_counter(), time.process_time()
        run_standalone(cfg)
        total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        data = json.loads((tmp / "eval" / "metrics.json").read_text())
    m, t = data["metrics"], data["timings"]
    yaw, move = MOTIONS[motion]
    rows = [
        ("path", f"{motion}: pan right {yaw:g} deg, move {move}"),
        (
            "video",
            f"{args.frames} frames {width}x{height}, mapper {args.mapper}, trials {args.trials}, SIFT at "
            f"{args.max_image_size} px, {args.max_features} features",
        ),
        ("render + encode (not timed)", f"{prep:.1f} s"),
        ("SIFT extraction", f"{t['extract_s']:.1f} s"),
        ("sequential matching", f"{t['match_s']:.1f} s"),
        ("mapper (all trials)", f"{t['map_s']:.1f} s"),
        ("rotation-only check", f"{t.get('rotation_s', 0.0):.1f} s"),
        ("evaluate total", f"{total:.1f} s (target < {TARGET_S:.0f} s), CPU {cpu:.1f} s (all threads)"),
        ("model", f"{data.get('model')}: {data.get('model_reason') or 'SfM reconstruction'}"),
        ("registered", f"{fmt(m['registered_fraction'], '.0%')}"),
        ("RotErr sum / per frame", f"{fmt(m['rot_err'])} / {fmt(m['rot_err_per_frame'], '.5f')} rad"),
        ("TransErr / CamMC (sums)", f"{fmt(m['trans_err'])} / {fmt(m['cam_mc'])}"),
        ("ATE (plan extents)", fmt(m["ate"])),
        ("RPE rotation", f"{fmt(m['rpe_rot_deg'])} deg"),
        ("reprojection error", f"{fmt(m['reprojection_error_px'], '.3f')} px"),
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
        f"{'PASS' if ok else 'FAIL'}: evaluate of {args.frames} frames at {width}x{height} ({motion}) in "
        f"{total:.1f} s"
    )
    if (args.frames, width, height) == (81, 832, 480):
        base = BASELINE_ROT_PER_FRAME[motion]
        rot = m["rot_err_per_frame"]
        rot_ok = rot is not None and rot <= 1.1 * base
        print(f"{'target (issue 19)':<40} {'measured':>10}  verdict")
        print(f"{'evaluate <= ' + f'{TARGET_S:g} s':<40} {total:9.1f}s  {'met' if ok else 'missed'}")
        print(
            f"{'RotErr/frame <= 1.1 x ' + f'{base:g} (before)':<40} {fmt(rot, '10.5f')}  "
            f"{'met' if rot_ok else 'missed'}"
        )
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
