"""Text <-> trajectory benchmark: round-trip motion-tag F1 over tests/data/prompts.json and planning speed.

text -> plan (shotsmith.textplan) -> path (motion.build_path, 81 frames) -> GenDoP labels (shotsmith.describe),
scored against each prompt's hand-written labels with GenDoP's weighted F1 over frames. Target: F1 >= 0.9;
a long sentence plans (and builds its path) in well under a second.
Run: .venv/bin/python bench/bench_text.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from shotsmith import describe as d
from shotsmith.motion import build_path
from shotsmith.textplan import parse_text

PROMPTS = Path(__file__).resolve().parents[1] / "tests" / "data" / "prompts.json"
LONG = ", then ".join(
    ["the camera slowly pans left 30 degrees while dollying in to reveal the hall", "tilts up", "orbits right",
     "trucks left while rolling clockwise"] * 5
)  # fmt: skip


def round_trip(frames: int = 81) -> tuple[float, float, list[tuple[str, float]]]:
    """(overall F1, text-label F1, worst prompts) of the prompt set."""
    preds, refs, texts, worst = [], [], [], []
    for p in json.loads(PROMPTS.read_text()):
        parsed = parse_text(p["text"])
        weights = [s.weight for s in parsed.segments]
        if len(weights) == len(p["labels"]):
            ref = d.smooth_labels(d.spread_labels([d.label_of(n) for n in p["labels"]], weights, frames - 1))
        else:
            ref = np.full(frames - 1, -1)  # wrong segment count scores zero
        pred = d.smooth_labels(d.frame_labels(build_path(parsed.plan, frames)))
        preds.append(pred)
        refs.append(ref)
        texts.append(d.text_labels(p["text"], frames))
        worst.append((p["text"], d.motion_tag_f1(pred, ref)))
    worst.sort(key=lambda x: x[1])
    return (
        d.motion_tag_f1(np.concatenate(preds), np.concatenate(refs)),
        d.motion_tag_f1(np.concatenate(preds), np.concatenate(texts)),
        worst[:3],
    )


def plan_time(repeats: int = 5) -> float:
    """Best time (s) to plan the long sentence and build its 121-frame path."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        build_path(parse_text(LONG).plan, 121)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    n = len(json.loads(PROMPTS.read_text()))
    f1, f1_text, worst = round_trip()
    t = plan_time()
    rows = [
        ("round-trip weighted F1 (vs hand labels)", f"{f1:.3f}", ">= 0.9"),
        ("round-trip weighted F1 (vs text_labels)", f"{f1_text:.3f}", ">= 0.9"),
        ("prompts", str(n), ">= 60"),
        (
            f"plan + path, {len(LONG.split())}-word sentence",
            f"{t * 1000:.1f} ms",
            f"< 1000 ms: {'met' if t < 1.0 else 'NOT met'}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'text <-> trajectory'.ljust(width)}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>10}  {target}")
    for text, score in worst:
        print(f"  lowest: {score:.2f}  {text}")


if __name__ == "__main__":
    main()
