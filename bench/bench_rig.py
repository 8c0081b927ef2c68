"""Multi-camera shots: a 4-camera rig vs one camera on the embedded backends, and how well the views agree.

Builds a workspace from the bundled photo (prior depth), plans `dolly_in` (81 frames, 832x480), then times
- one camera: the render-guidance stage (render + write guidance/), reading the guidance back, the inpaint
  generator and writing output/shot.mp4 (what `run` does for one camera);
- the rig `ring:n=4,radius=0.3`: render-guidance-rig + generate-rig (4 views + the grid);
target: rig under 4x the single camera. View agreement: every pixel of view A reprojected into view B at the same
instant through its depth (the cache's rendered depth where covered, the inpaint fill layers' depth in holes),
occluded samples dropped; mean absolute RGB error (0-255) over all ordered view pairs, for covered pixels and
for filled pixels separately, and the same for a per-view fill (each view sizing its own layers) for comparison.
Run: .venv/bin/python bench/bench_rig.py [--frames 81] [--size 832x480] [--rig ring:n=4,radius=0.3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("SHOTSMITH_QUIET", "1")

from shotsmith import workspace as W  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def prepare(ws: W.Workspace, frames: int, width: int, height: int) -> None:
    from shotsmith.stage import execute
    from shotsmith.stages import build_cache, plan_trajectory

    execute(
        ws, build_cache.STAGE, build_cache.Config(image=str(ROOT / "assets" / "astronaut.png"), depth="prior")
    )
    cfg = plan_trajectory.Config(cam="dolly_in", frames=frames, size=(width, height))
    execute(ws, plan_trajectory.STAGE, cfg)


def single_camera(ws: W.Workspace) -> float:
    from shotsmith.artifacts import load_cache
    from shotsmith.backends.generate import GenerateRequest
    from shotsmith.backends.inpaint import InpaintGenerator
    from shotsmith.formats import read_trajectory
    from shotsmith.media import read_mask_video, read_video, write_video
    from shotsmith.stage import execute
    from shotsmith.stages import render_guidance

    start = time.perf_counter()
    execute(ws, render_guidance.STAGE, force=True)  # the stage: render + write guidance/
    rgb, fps = read_video(ws.path(W.GUIDANCE_RGB))  # the generate stage reads the guidance back
    mask = read_mask_video(ws.path(W.GUIDANCE_MASK))
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        depth = np.where(mask, z["depth"].astype(np.float32), 0).astype(np.float32)
    cache = load_cache(ws)
    cam = read_trajectory(ws.path(W.TRAJECTORY))
    request = GenerateRequest(
        rgb,
        mask,
        depth,
        cam,
        source_rgb=cache.image,
        source_depth=cache.depth,
        source_intrinsics=cache.info.intrinsics_array,
        source_world_from_camera=cache.info.world_from_camera_array,
    )
    out = InpaintGenerator().generate(request)
    with ws.atomic(W.OUTPUT_VIDEO) as tmp:
        write_video(tmp, out, fps)
    return time.perf_counter() - start


def rig_run(ws: W.Workspace, spec: str) -> tuple[float, float, float]:
    from shotsmith.stage import execute
    from shotsmith.stages import generate, render_guidance

    t0 = time.perf_counter()
    execute(ws, render_guidance.STAGE, render_guidance.Config(rig=spec), force=True)
    t1 = time.perf_counter()
    execute(ws, generate.STAGE, generate.Config(generator="inpaint", rig=spec), force=True)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, t2 - t1


def full_depth(guidance, layers, settings) -> np.ndarray:
    """(T, H, W) depth of a generated view: the guidance's where covered, the fill layers' in holes."""
    from shotsmith.render import render_points

    cam = guidance.cameras
    depth = guidance.depth.copy()
    for t in range(len(cam)):
        hole = ~guidance.mask[t]
        if not hole.any() or layers is None:
            continue
        r = render_points(
            layers.points,
            layers.colors,
            cam.world_from_camera[t],
            cam.intrinsics[t],
            cam.width,
            cam.height,
            radius=layers.radius,
        )
        use = hole & r.mask
        depth[t][use] = r.depth[use]
    return depth


def agreement(videos, guidances, depths, stride: int = 4) -> tuple[float, float]:
    """(mean |A - warp(B)| over covered pixels, over filled pixels), all ordered pairs, every `stride`-th frame."""
    from shotsmith.fill import warp_sample

    sums = {"covered": [0.0, 0], "filled": [0.0, 0]}
    for a, b in itertools.permutations(range(len(videos)), 2):
        ga, gb = guidances[a], guidances[b]
        for t in range(0, len(videos[a]), stride):
            for kind, sel in (("covered", ga.mask[t]), ("filled", ~ga.mask[t])):
                rows, cols = np.nonzero(sel & (depths[a][t] > 0))
                if not len(rows):
                    continue
                vals, ok = warp_sample(
                    videos[b][t],
                    rows,
                    cols,
                    depths[a][t][rows, cols],
                    (ga.cameras.world_from_camera[t], ga.cameras.intrinsics[t]),
                    (gb.cameras.world_from_camera[t], gb.cameras.intrinsics[t]),
                    prev_depth=depths[b][t],
                )
                if ok.any():
                    cur = videos[a][t][rows[ok], cols[ok]].astype(np.float32)
                    sums[kind][0] += float(np.abs(cur - vals[ok]).mean(axis=1).sum())
                    sums[kind][1] += int(ok.sum())
    return tuple(s / n if n else float("nan") for s, n in sums.values())  # type: ignore[return-value]


class _Camera:
    """A rig view with its guidance's arrays as attributes (index, name, cameras, rgb, mask, depth)."""

    def __init__(self, view) -> None:
        self.index, self.name, self.cameras = view.index, view.name, view.cameras
        self.rgb, self.mask, self.depth = view.guidance.rgb, view.guidance.mask, view.guidance.depth


def measure_agreement(ws: W.Workspace) -> dict[str, tuple[float, float]]:
    from shotsmith.artifacts import read_rig_json
    from shotsmith.backends.inpaint import InpaintGenerator, InpaintReport, InpaintSettings, build_layers
    from shotsmith.media import read_video
    from shotsmith.stages.generate import Config, read_views, shared_inpaint_settings, source_request

    cfg = Config(rig=read_rig_json(ws)["spec"])
    guidances = [_Camera(v) for v in read_views(ws, cfg)]
    template = source_request(ws, cfg)
    shared = shared_inpaint_settings(InpaintSettings(measure=False), template, [g.cameras for g in guidances])
    out = {}
    # the rig's own output: one fill for all views
    videos = [read_video(ws.path(W.output_cam(g.index)))[0] for g in guidances]
    layers = build_layers(replace(template, cameras=guidances[0].cameras), shared, InpaintReport())
    depths = [full_depth(g, layers, shared) for g in guidances]
    out["rig (shared fill)"] = agreement(videos, guidances, depths)
    # baseline: each view sizes its own layers
    videos, depths = [], []
    for g in guidances:
        req = replace(
            template, guidance_rgb=g.rgb, guidance_mask=g.mask, guidance_depth=g.depth, cameras=g.cameras
        )
        settings = InpaintSettings(measure=False)
        videos.append(InpaintGenerator(settings=settings).generate(req))
        depths.append(full_depth(g, build_layers(req, settings, InpaintReport()), settings))
    out["per-view fill"] = agreement(videos, guidances, depths)
    return out


def main() -> None:
    from shotsmith.presets import parse_size

    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--rig", default="ring:n=4,radius=0.3")
    args = ap.parse_args()
    width, height = parse_size(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        ws = W.Workspace(Path(tmp) / "ws").create()
        prepare(ws, args.frames, width, height)
        single_camera(ws)  # warm-up: numba compilation, imports, caches
        single = single_camera(ws)
        total, render_s, gen_s = rig_run(ws, args.rig)
        n = len(__import__("shotsmith.rigs", fromlist=["load_rig"]).load_rig(args.rig))
        print(f"\nrig {args.rig}: {n} cameras x {args.frames} frames at {width}x{height}, embedded backends")
        print(f"{'run':<28}{'seconds':>10}{'x single':>10}")
        print(f"{'single camera':<28}{single:>10.2f}{1.0:>10.2f}")
        print(f"{'rig: render-guidance-rig':<28}{render_s:>10.2f}{render_s / single:>10.2f}")
        print(f"{'rig: generate-rig (+grid)':<28}{gen_s:>10.2f}{gen_s / single:>10.2f}")
        print(
            f"{'rig: total':<28}{total:>10.2f}{total / single:>10.2f}   target < 4x: "
            f"{'met' if total < 4 * single else 'NOT met'}"
        )
        print("\nview agreement: mean |A - B reprojected| (0-255), all ordered pairs, every 4th frame")
        print(f"{'fill':<22}{'covered px':>12}{'filled px':>12}")
        for name, (cov, fil) in measure_agreement(ws).items():
            print(f"{name:<22}{cov:>12.2f}{fil:>12.2f}")


if __name__ == "__main__":
    main()
