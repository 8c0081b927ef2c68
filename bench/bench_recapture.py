"""Recapture benchmark: 81 frames at 832x480 on the embedded backends (prior depth, inpaint generator).

The source is a tripod shot made here: the bundled astronaut photo as a static background with a textured
square sliding across it, 81 frames at 16 fps, with a sine audio track (so the audio carry-over is timed too).
It is recaptured with `--cam dolly_in` and with ReCamMaster's `--cam 1` (pan right). Targets: issue 7, under
120 s for the whole command; issue 19, at most 5x the clip's length (81 frames at 16 fps: 5.06 s). `--video PATH`
recaptures that video instead (its first 81 frames, e.g. a 1280x720 clip) with `--cam 1`. Prints one table of
the per-part times (static evidence included) and the load average (the machine may be shared: compare runs made
at the same load, best of several).
Run: .venv/bin/python bench/bench_recapture.py [--video clip.mp4]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FRAMES, WIDTH, HEIGHT, FPS = 81, 832, 480, 16.0
TARGET_S = 120.0
TARGET_CLIP_RATIO = 5.0
CLIP_S = FRAMES / FPS
ROOT = Path(__file__).resolve().parent.parent


def make_source(path: Path) -> None:
    """An 81-frame tripod shot with a moving square and an audio track."""
    from shotsmith.media import read_image, resize_image, write_video
    from shotsmith.video import ffmpeg_exe

    background = resize_image(read_image(ROOT / "assets" / "astronaut.png"), WIDTH, HEIGHT)
    y, x = np.mgrid[0:120, 0:120]
    square = np.stack([(x * 2) % 256, 80 + y, (x * y) % 256], axis=-1).astype(np.uint8)
    frames = np.repeat(background[None], FRAMES, axis=0)
    for t in range(FRAMES):
        x0 = int(60 + (WIDTH - 240) * t / (FRAMES - 1))
        frames[t, 300:420, x0 : x0 + 120] = square
    silent = path.with_name("silent.mp4")
    write_video(silent, frames, FPS)
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(silent), "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", f"{FRAMES / FPS:.3f}", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip


def run_case(video: Path, cam: str, ws: Path) -> tuple[float, dict, dict]:
    from shotsmith.pipeline import RecaptureConfig, recapture
    from shotsmith.stages import build_cache, generate, plan_trajectory

    cfg = RecaptureConfig(
        video=str(video),
        workspace=str(ws),
        cache=build_cache.Config(frames=FRAMES, size=(WIDTH, HEIGHT), depth="prior"),
        plan=plan_trajectory.Config(cam=cam),
        generate=generate.Config(generator="inpaint"),
    )
    start = time.perf_counter()
    workspace, _lines = recapture(cfg, force=True)
    total = time.perf_counter() - start
    cache, guidance, gen = (
        workspace.record(s).extra for s in ("build-3d-cache", "render-guidance", "generate")
    )
    timings = {
        **{
            k: cache.get(k, 0.0)
            for k in ("decode_s", "depth_s", "cameras_s", "align_s", "static_s", "write_cache_s")
        },
        "render_s": guidance.get("render_seconds", 0.0),
        "write_guidance_s": guidance.get("write_seconds", 0.0),
        "generate_s": gen.get("seconds_generate", 0.0),
        "write_output_s": gen.get("seconds_write", 0.0),
    }
    return total, timings, guidance


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default="", help="recapture this video (first 81 frames) with --cam 1")
    args = ap.parse_args(argv)
    parts = [
        ("decode_s", "decode video"),
        ("depth_s", "depth (prior, 81 frames)"),
        ("cameras_s", "source cameras"),
        ("align_s", "align depth + 4D cache"),
        ("static_s", "static evidence (during the write)"),
        ("write_cache_s", "write cache/frames.npz (+ static)"),
        ("render_s", "render 4D cache + fill"),
        ("write_guidance_s", "write guidance/"),
        ("generate_s", "generate (inpaint)"),
        ("write_output_s", "write shot + audio + side-by-side"),
    ]
    rows = []
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.video:
            video, cams = Path(args.video), ("1",)
        else:
            video, cams = Path(tmp) / "tripod.mp4", ("dolly_in", "1")
            make_source(video)
        for cam in cams:
            total, timings, guidance = run_case(video, cam, Path(tmp) / f"ws-{cam}")
            rows.append((cam, total, timings, guidance))
            ok &= total < TARGET_S
    source = args.video or "the synthetic tripod shot"
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"recapture of {source}: {FRAMES} frames at {WIDTH}x{HEIGHT}, prior depth, inpaint generator "
        f"(target < {TARGET_S:.0f} s)"
    )
    header = f"{'part':36s}" + "".join(f"{'--cam ' + cam:>16s}" for cam, *_ in rows)
    print(header)
    print("-" * len(header))
    for key, label in parts:
        print(f"{label:36s}" + "".join(f"{r[2].get(key, 0.0):>15.2f}s" for r in rows))
    print(f"{'total (whole command)':36s}" + "".join(f"{r[1]:>15.2f}s" for r in rows))
    print(f"{'guidance coverage':36s}" + "".join(f"{100 * r[3].get('coverage', 0):>15.1f}%" for r in rows))
    print(
        f"{'points borrowed per frame (mean)':36s}"
        + "".join(f"{r[3].get('borrowed_points_mean', 0):>16.0f}" for r in rows)
    )
    print("PASS" if ok else f"FAIL: over {TARGET_S:.0f} s")
    print(f"\n{'target (issue 19)':<44} {'measured':>9}  verdict")
    for cam, total, *_ in rows:
        ratio = total / CLIP_S
        label = f"--cam {cam}: <= {TARGET_CLIP_RATIO:g}x the {CLIP_S:.2f} s clip"
        print(f"{label:<44} {ratio:8.2f}x  {'met' if ratio <= TARGET_CLIP_RATIO else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
