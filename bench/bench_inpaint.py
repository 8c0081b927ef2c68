"""The embedded `inpaint` generator: temporal stability and speed at the demo's shape (81 frames at 832x480).

Scene: the bundled astronaut photo as a flat backdrop at depth 3 with a cut-out (an ellipse around the subject)
standing at depth 1.5, i.e. a source view with a strong depth edge; the camera dollies right and pans a little
(`--move`), opening disocclusions beside the cut-out and an out-of-frame strip. Guidance is the source view's
points rendered with `shotsmith.render`; ground-truth depth of every target pixel comes from ray casting the two
planes; the stability metric warps both methods with the same geometry: the guidance's depth where it covers
(so a guidance splat overhanging its true edge counts as an occluder) and the true depth in the holes.

Prints one table: temporal instability (`shotsmith.fill.temporal_instability`: mean absolute change of hole
pixels between consecutive frames after warping by the known camera motion; 0-255 units, lower is steadier)
for the layered `inpaint` generator and for per-frame OpenCV inpainting (Telea, each frame independently), on
all hole pixels and on hole interiors (1 px away from the guidance's edge), plus time per frame.
Run: .venv/bin/python bench/bench_inpaint.py [--frames 81] [--size 832x480] [--move 0.3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from shotsmith.backends.generate import GenerateRequest, get_generator
from shotsmith.camera import CameraPath, default_intrinsics, make_pose
from shotsmith.fill import per_frame_inpaint, temporal_instability, unproject
from shotsmith.media import read_image
from shotsmith.render import point_radius, render_path

Z_BG, Z_FG = 3.0, 1.5
ROOT = Path(__file__).resolve().parent.parent


def make_source(width: int, height: int):
    """(rgb (h, w, 3), depth (h, w), intrinsics (4,), cut-out mask (h, w)) of the astronaut scene."""
    rgb = read_image(ROOT / "assets" / "astronaut.png")
    rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:height, 0:width]
    cut = ((xs - 0.45 * width) / (0.18 * width)) ** 2 + ((ys - 0.55 * height) / (0.38 * height)) ** 2 <= 1.0
    depth = np.where(cut, Z_FG, Z_BG).astype(np.float32)
    return rgb, depth, default_intrinsics(width, height), cut


def make_path(frames: int, width: int, height: int, move: float, pan_deg: float) -> CameraPath:
    ts = np.linspace(0.0, 1.0, frames)
    rots = Rotation.from_euler("y", np.radians(pan_deg) * ts[:, None]).as_matrix()
    trans = np.stack([move * ts, np.zeros_like(ts), 0.2 * move * ts], 1)
    return CameraPath(make_pose(rots, trans), default_intrinsics(width, height), width, height, fps=16.0)


def true_depth(cams: CameraPath, intr_src: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """(T, H, W) ray-cast z-depth of the backdrop + cut-out scene."""
    h, w = cut.shape
    out = np.empty((len(cams), cams.height, cams.width), np.float32)
    jj, ii = np.meshgrid(np.arange(cams.width) + 0.5, np.arange(cams.height) + 0.5)
    for t in range(len(cams)):
        fx, fy, cx, cy = cams.intrinsics[t]
        d_cam = np.stack([(jj - cx) / fx, (ii - cy) / fy, np.ones_like(jj)], -1).reshape(-1, 3)
        m = cams.world_from_camera[t]
        d = d_cam @ m[:3, :3].T
        c = m[:3, 3]
        s_fg = (Z_FG - c[2]) / d[:, 2]
        p = c + s_fg[:, None] * d
        u = np.floor(intr_src[0] * p[:, 0] / p[:, 2] + intr_src[2]).astype(int)
        v = np.floor(intr_src[1] * p[:, 1] / p[:, 2] + intr_src[3]).astype(int)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        on_fg = np.zeros(len(p), bool)
        on_fg[inside] = cut[v[inside], u[inside]]
        s = np.where(on_fg, s_fg, (Z_BG - c[2]) / d[:, 2])
        out[t] = s.reshape(cams.height, cams.width)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--size", default="832x480")
    ap.add_argument(
        "--move", type=float, default=0.3, help="sideways dolly in scene units (1 = subject distance)"
    )
    ap.add_argument("--pan", type=float, default=6.0, help="pan in degrees over the shot")
    ap.add_argument("--baseline-frames", type=int, default=0, help="frames for the cv2 baseline (0 = all)")
    ap.add_argument("--workspace", help="also measure on a real workspace's guidance (after render-guidance)")
    args = ap.parse_args()
    os.environ.setdefault("SHOTSMITH_QUIET", "1")
    width, height = (int(x) for x in args.size.lower().split("x"))

    rgb, depth, intr, cut = make_source(width, height)
    cams = make_path(args.frames, width, height, args.move, args.pan)
    pts, rc = unproject(depth, intr, np.eye(4))
    cols = rgb[rc[:, 0], rc[:, 1]]
    t0 = time.perf_counter()
    g = render_path(pts, cols, cams, radius=point_radius(pts, np.eye(4), intr[0]))
    t_guid = time.perf_counter() - t0
    req = GenerateRequest(
        guidance_rgb=g.rgb,
        guidance_mask=g.mask,
        guidance_depth=g.depth,
        cameras=cams,
        source_rgb=rgb,
        source_depth=depth,
        source_intrinsics=intr,
        source_world_from_camera=np.eye(4),
    )
    gen = get_generator("inpaint")
    gen.generate(
        GenerateRequest(g.rgb[:2], g.mask[:2], g.depth[:2], cams.select(slice(0, 2)))
    )  # warm up (JIT)
    t0 = time.perf_counter()
    ours = gen.generate(req)
    t_ours = time.perf_counter() - t0
    rep = gen.last_report

    nb = args.baseline_frames or args.frames
    t0 = time.perf_counter()
    naive = per_frame_inpaint(g.rgb[:nb], g.mask[:nb])
    t_naive = time.perf_counter() - t0

    # depth of what both videos display: the guidance's where it covers, the true surface elsewhere
    gt = np.where(g.mask, g.depth, true_depth(cams, intr, cut))
    holes = ~g.mask
    inner = np.stack([cv2.erode(h.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for h in holes])
    sel = cams.select(slice(0, nb))
    rows = [
        ("inpaint (layered, this repo)", ours[:nb], t_ours / args.frames),
        ("cv2.inpaint Telea per frame", naive, t_naive / nb),
    ]
    print(
        f"scene: astronaut backdrop z={Z_BG} + cut-out z={Z_FG}, {args.frames} frames at {width}x{height}, "
        f"dolly {args.move} + pan {args.pan} deg; holes {100 * holes.mean():.1f}% of pixels; "
        f"guidance render {t_guid:.2f} s"
    )
    print(
        f"inpaint layers: band {rep.band_px} px, pad (l, t, r, b) {tuple(rep.pad_px)} px, {rep.layer_points} points "
        f"built in {rep.seconds_layers:.2f} s; {100 * rep.layer_fraction:.1f}% of hole pixels filled by layers; "
        f"self-measured instability {rep.temporal_instability:.2f}"
    )
    print(f"{'method':32s} {'instability (all holes)':>24s} {'(hole interiors)':>17s} {'ms / frame':>11s}")
    results = {}
    for name, vid, per in rows:
        a = temporal_instability(vid, holes[:nb], gt[:nb], sel)
        b = temporal_instability(vid, inner[:nb], gt[:nb], sel)
        results[name] = a
        print(f"{name:32s} {a:24.2f} {b:17.2f} {1000 * per:11.1f}")
    a, b = results.values()
    print(
        f"per-frame cv2 / inpaint instability: {b / a:.1f}x; inpaint total {t_ours:.2f} s for {args.frames} frames"
    )
    if args.workspace:
        bench_workspace(Path(args.workspace))


def bench_workspace(root: Path) -> None:
    """The same table on a real workspace; both methods are warped with the inpaint output's completed depth."""
    from shotsmith import artifacts as A
    from shotsmith import workspace as W
    from shotsmith.backends.inpaint import InpaintGenerator, InpaintSettings

    ws = W.Workspace(root)
    g, c = A.read_guidance(ws), A.load_cache(ws)
    cams = A.read_trajectory(ws)
    req = GenerateRequest(
        g.rgb,
        g.mask,
        g.depth,
        cams,
        source_rgb=c.image,
        source_depth=c.depth,
        source_intrinsics=c.info.intrinsics_array,
        source_world_from_camera=c.info.world_from_camera_array,
    )
    gen = InpaintGenerator(InpaintSettings(keep_depth=True))
    t0 = time.perf_counter()
    ours = gen.generate(req)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = per_frame_inpaint(g.rgb, g.mask)
    t_naive = time.perf_counter() - t0
    holes = ~g.mask
    n = len(cams)
    print(
        f"\nworkspace {root}: {n} frames at {cams.width}x{cams.height}, holes {100 * holes.mean():.1f}% of pixels"
    )
    print(f"{'method':32s} {'instability (all holes)':>24s} {'ms / frame':>11s}")
    for name, vid, sec in (
        ("inpaint (layered, this repo)", ours, t_ours),
        ("cv2.inpaint Telea per frame", naive, t_naive),
    ):
        ti = temporal_instability(vid, holes, gen.last_depth, cams)
        print(f"{name:32s} {ti:24.2f} {1000 * sec / n:11.1f}")


if __name__ == "__main__":
    main()
