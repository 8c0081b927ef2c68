"""`make gpu-check`: on a GPU machine with weights, one shot per backend, with seconds, peak GPU memory and
evaluate's camera numbers, so the first GPU user (or a GPU machine lent to the project) gets the figures in one
command.

For every video model of `shotsmith models` whose files are on this machine (and every depth model, as the
cache's backend of the first shot), it runs `shotsmith run` on the bundled photo with `--cam dolly_in` at the
backend's native frames and size, then `evaluate` on the result, and prints one row: backend, model, frames,
size, offload mode, seconds (cache, generate, total), peak GPU memory (torch.cuda.max_memory_allocated), RotErr /
TransErr / CamMC and the registered fraction. Without a CUDA GPU, or without any weights, it says so in one line
and exits 0 (nothing to check). Options: `--offload MODE`, `--steps N`, `--frames N`, `--models a,b`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--offload", default="none", help="offload mode for the video models (docs/GENERATORS.md)"
    )
    ap.add_argument("--steps", type=int, default=30, help="denoising steps")
    ap.add_argument("--frames", type=int, default=None, help="frames (default: the backend's native count)")
    ap.add_argument("--models", default="", help="comma-separated model names (default: every one present)")
    args = ap.parse_args(argv)

    import torch

    from shotsmith.models import KNOWN, local_path

    if not torch.cuda.is_available():
        print(
            "gpu-check: torch sees no CUDA GPU here: nothing to check (run it on a GPU machine with weights)"
        )
        return 0
    wanted = [m for m in KNOWN if m.task == "video" and (not args.models or m.name in args.models.split(","))]
    present = [(m, local_path(m)) for m in wanted]
    present = [(m, p) for m, p in present if p is not None]
    if not present:
        names = ", ".join(m.name for m in wanted)
        print(f"gpu-check: no video-model weights here ({names}); `shotsmith models pull NAME` first")
        return 0
    depth = next((local_path(m) for m in KNOWN if m.name == "depth-anything-v2-small"), None)
    print(
        f"GPU: {torch.cuda.get_device_name(0)}; depth: {'depth-anything-v2 ' + str(depth) if depth else 'prior'}"
    )
    header = f"{'model':24s} {'frames':>6s} {'size':>9s} {'gen s':>8s} {'total s':>8s} {'peak GB':>8s} "
    print(header + f"{'RotErr':>8s} {'TransErr':>9s} {'CamMC':>8s} {'reg':>5s}")
    failed = 0
    for model, folder in present:
        row = run_one(model, folder, depth, args)
        failed += row is None
    return 1 if failed else 0


def run_one(model, folder, depth, args):
    import json

    import torch

    from shotsmith.pipeline import RunConfig, run_shot
    from shotsmith.stage import execute
    from shotsmith.stages import build_cache, evaluate, generate, plan_trajectory

    with tempfile.TemporaryDirectory() as tmp:
        torch.cuda.reset_peak_memory_stats()
        cfg = RunConfig(
            prompt="an astronaut portrait, slow dolly in",
            image=str(ROOT / "assets" / "astronaut.png"),
            workspace=str(Path(tmp) / "ws"),
            plan=plan_trajectory.Config(cam="dolly_in", frames=args.frames),
            cache=build_cache.Config(
                depth="depth-anything-v2" if depth else "prior", model=str(depth) if depth else None
            ),
            generate=generate.Config(
                generator=model.backend,
                model=str(folder),
                steps=args.steps,
                offload=args.offload,
                device="cuda",
            ),
        )
        t0 = time.perf_counter()
        try:
            ws, _lines = run_shot(cfg)
            total = time.perf_counter() - t0
            rec = ws.record("generate")
            execute(ws, evaluate.STAGE, evaluate.Config())
        except Exception as exc:  # a row per model: one failing model does not hide the others
            print(f"{model.name:24s} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            return None
        peak = torch.cuda.max_memory_allocated() / 1e9
        m = json.loads(ws.path("eval/metrics.json").read_text())["metrics"]
        w, h = rec.extra.get("size", [0, 0])

        def f(key, spec=".4f"):
            v = m.get(key)
            return "n/a" if v is None else format(v, spec)

        print(
            f"{model.name:24s} {rec.extra.get('frames', 0):6d} {f'{w}x{h}':>9s} "
            f"{rec.extra.get('seconds_generate', 0):8.1f} {total:8.1f} {peak:8.1f} {f('rot_err'):>8s} "
            f"{f('trans_err'):>9s} {f('cam_mc'):>8s} {f('registered_fraction', '.0%'):>5s}",
            flush=True,
        )
        return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
