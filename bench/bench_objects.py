"""insert-object speed: a 1-million-face mesh placed into a scene (target: under 10 s here, issue 5).

Builds a workspace with a 1 MP cache (prior depth on an upscaled sample photo), a vertex-coloured icosphere of
1,310,720 faces, and times `insert-object --at-pixel` (load, place, sample by on-screen size, write the PLY).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHOTSMITH_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
BENCH_CASES = (("small on screen", 0.1), ("large on screen", 0.4))


def main() -> int:
    import numpy as np
    import trimesh
    from PIL import Image

    from shotsmith import workspace as W
    from shotsmith.stage import execute
    from shotsmith.stages import build_cache, insert_object

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo = tmp / "photo.png"
        Image.open(ROOT / "assets" / "astronaut.png").resize((1200, 860)).save(photo)
        ws = W.Workspace(tmp / "ws").create()
        execute(ws, build_cache.STAGE, build_cache.Config(image=str(photo), depth="prior"))
        sphere = trimesh.creation.icosphere(subdivisions=8)
        rng = np.random.default_rng(0)
        sphere.visual.vertex_colors = rng.integers(0, 255, (len(sphere.vertices), 4)).astype(np.uint8)
        mesh_path = tmp / "sphere.ply"
        sphere.export(mesh_path, encoding="binary")
        rows = []
        for label, height in BENCH_CASES:
            start = time.perf_counter()
            cfg = insert_object.Config(object_path=str(mesh_path), at_pixel=(600, 700), height=height)
            rec = execute(ws, insert_object.STAGE, cfg, force=True)
            rows.append((label, time.perf_counter() - start, rec.extra.get("points", 0)))
    print(f"{'case':18s} {'faces':>10s} {'points':>10s} {'seconds':>8s}  target")
    for label, seconds, points in rows:
        verdict = "ok" if seconds < 10 else "OVER"
        print(f"{label:18s} {len(sphere.faces):10d} {points:10d} {seconds:8.2f}  < 10 s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
