"""Real inputs: every photo, RGB-D frame and video of a folder, shot with the standard moves; contact sheets.

Run: PYTHONPATH=src .venv/bin/python bench/bench_real.py [FOLDER] [--quick] [--evaluate] [--videos]
Default FOLDER: ../shared/data/real (the inputs of its README.md), plus scikit-image's photos (--skimage).

Inputs found in FOLDER (no file name is special-cased):
- a photo: any .png .jpg .jpeg .webp .bmp .tif(f); shot with `run_shot`, `--depth prior`.
- an RGB-D frame: `X_rgb.<image>` with `X_depth.npy` beside it: `--depth X_depth.npy`. When `X_transforms*.json`
  is beside it too, that camera path is shot as one more move, `own-path` (`--trajectory FILE --frames N --size
  WxH`, what a user would type), and the cache is built with the horizontal field of view of the path's first
  camera (`--fov`: the photo was taken with that camera; `--no-path-fov` uses shotsmith's default instead).
- a video: .mp4 .mov .mkv .webm (only with --videos): `recapture` with `--cam pan_right` and ReCamMaster's
  cameras 1..10 (`--cams`), 4D cache with `--depth prior`.
- scikit-image's photos (`skimage.data`: astronaut, coffee, chelsea, rocket; `--skimage none` skips them).

One workspace per input (bench/out/ws/<input>/, removed afterwards unless --keep): the cache is built once and
each move is planned in turn (the stages skip what is unchanged), generator `inpaint`. Default shot: 81 frames
at 832x480 with dolly_in, pan_left, orbit_right, crane_up, truck_right; `--quick`: 33 frames at 416x240 with
dolly_in, orbit_right, truck_right (videos: pan_right and 1). `--evaluate` runs the evaluate stage on every
shot (pycolmap, ~30 s per 81-frame shot; in --quick with small settings: 320 px, 1024 features).

Figures per input and move (definitions):
- PSNR0: frame-0 PSNR (dB) of output/shot.mp4 frame 0 against the source (the photo file, or the video's
  frame 0) centre-cropped to the shot's aspect (a fractional box: the shot's "cover" fit) and resized (Lanczos)
  to the shot size; 8-bit RGB, all pixels.
- cover: source-view coverage = fraction of the cache's source view that has depth > 0 in cache/depth.npy
  (after the flying-pixel filter); equals cache.json `num_points / (width * height)` (checked).
- PSNR0c: the same PSNR over the pixels the guidance covers at frame 0 only (render vs fill; not a target).
- holes: hole fraction = mean over frames of the fraction of guidance pixels the cache does not cover
  (guidance/depth.npz "mask" False).
- flicker: fill flicker = the inpaint generator's temporal instability of the filled pixels (0-255 units,
  `shotsmith.fill.temporal_instability`), the generate record's extra "temporal_instability" in shot.json.
- RotErr / TransErr: the evaluate stage's eval/metrics.json "metrics" rot_err (rad, summed over frames) and
  trans_err of the output against its plan ("skip" without --evaluate, "fail" when no poses registered).
- s: seconds of the whole `run_shot` / `recapture` call for that move (the first move includes the cache;
  "eval s" is the evaluate stage's share).

Targets, met/missed per input: frame 0 within 30 dB of the source (PSNR0 >= 30 dB on every move) and source-view
coverage >= 0.99. Contact sheets: bench/out/<input>.png, one row per move (the source crop, then frames
0/20/40/60/80 of an 81-frame shot, the same fractions of a shorter one) and below it the guidance with the
uncovered pixels in magenta. Exit status 1 when a shot raised an error (with --strict also when a target is
missed: today's figures are "before" figures that miss them). A "*" in the table marks a figure that misses its target. The table is also
written to OUT/real-quick.md (or real-full.md) and .json; --out OUT (default bench/out) holds everything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "data" / "real"
OUT = ROOT / "bench" / "out"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
MOVES = ("dolly_in", "pan_left", "orbit_right", "crane_up", "truck_right")
QUICK_MOVES = ("dolly_in", "orbit_right", "truck_right")
CAMS = ("pan_right", *(str(i) for i in range(1, 11)))
QUICK_CAMS = ("pan_right", "1")
SKIMAGE = ("astronaut", "coffee", "chelsea", "rocket")
PSNR_TARGET = 30.0
COVER_TARGET = 0.99
SHEET_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # frames 0/20/40/60/80 of 81
OWN_PATH = "own-path"


@dataclass
class Input:
    name: str
    kind: str  # photo | rgbd | video
    path: Path
    depth: Path | None = None
    camera_path: Path | None = None


@dataclass
class Row:
    input: str
    move: str
    psnr0: float | None = None
    psnr0_covered: float | None = None
    cover: float | None = None
    holes: float | None = None
    flicker: float | None = None
    rot_err: float | str | None = "skip"
    trans_err: float | str | None = "skip"
    seconds: float = 0.0
    eval_seconds: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def discover(folder: Path, videos: bool) -> list[Input]:
    """Photos, RGB-D pairs (`X_rgb.*` + `X_depth.npy`, optional `X_transforms*.json`) and videos in `folder`."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    inputs = []
    for p in files:
        suffix = p.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            stem = p.stem
            prefix = stem[: -len("_rgb")] if stem.endswith("_rgb") else None
            depth = folder / f"{prefix}_depth.npy" if prefix else None
            if depth is not None and depth.is_file():
                paths = sorted(folder.glob(f"{prefix}_transforms*.json"))
                inputs.append(Input(prefix, "rgbd", p, depth, paths[0] if paths else None))
            else:
                inputs.append(Input(stem, "photo", p))
        elif suffix in VIDEO_SUFFIXES and videos:
            inputs.append(Input(p.stem, "video", p))
    seen: set[str] = set()
    for inp in inputs:  # a.png and a.jpg: one workspace and one sheet each
        if inp.name in seen:
            inp.name = f"{inp.name}{inp.path.suffix.replace('.', '-')}"
        seen.add(inp.name)
    return inputs


def skimage_inputs(names: list[str], folder: Path) -> list[Input]:
    """scikit-image's photos written as PNGs under `folder`."""
    if not names:
        return []
    import skimage.data

    from shotsmith.media import write_image

    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for name in names:
        path = folder / f"{name}.png"
        if not path.exists():
            image = np.asarray(getattr(skimage.data, name)())
            if image.ndim == 2:
                image = np.repeat(image[..., None], 3, axis=2)
            write_image(path, image[..., :3])
        inputs.append(Input(f"skimage-{name}", "photo", path))
    return inputs


# ---------------------------------------------------------------------------------------------------------------
# Figures


def centre_crop_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` centre-cropped to width:height and resized (Lanczos) to width x height. The crop box is
    fractional, the same "cover" fit as the shot's intrinsics (`camera.fit_intrinsics`): a crop rounded to whole
    pixels shifts and rescales the reference by up to a pixel, which alone costs ~6 dB on a detailed photo."""
    from PIL import Image

    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    cw, ch = width / scale, height / scale
    x0, y0 = max(0.0, (w - cw) / 2.0), max(0.0, (h - ch) / 2.0)  # not -1e-13 on the uncropped axis
    box = (x0, y0, min(float(w), x0 + cw), min(float(h), y0 + ch))
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(
        (width, height), Image.Resampling.LANCZOS, box=box
    )
    return np.asarray(resized)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        if not mask.any():
            return math.nan
        diff = diff[mask]
    mse = float(np.mean(diff))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def source_coverage(ws) -> tuple[float, list[str]]:
    from shotsmith import artifacts as A

    info = A.read_cache_info(ws)
    depth = A.read_cache_depth(ws)
    cover = float((depth > 0).mean())
    notes = []
    from_json = info.num_points / float(info.width * info.height)
    if abs(from_json - cover) > 1e-6:
        notes.append(f"cache.json num_points/(w*h) = {from_json:.4f} but depth.npy > 0 covers {cover:.4f}")
    return cover, notes


def guidance_figures(ws) -> tuple[float, np.ndarray, np.ndarray]:
    """Hole fraction and the guidance (rgb, mask) from guidance/depth.npz."""
    from shotsmith import workspace as W

    with np.load(ws.path(W.GUIDANCE_DEPTH), allow_pickle=False) as z:
        mask = np.asarray(z["mask"], dtype=bool)
        rgb = np.asarray(z["rgb"], dtype=np.uint8) if "rgb" in z.files else None
    holes = float(np.mean([(~m).mean() for m in mask]))
    return holes, rgb, mask


def eval_figures(ws) -> tuple[object, object]:
    from shotsmith import workspace as W

    path = ws.path(W.EVAL_METRICS)
    if not path.exists():
        return "fail", "fail"
    m = json.loads(path.read_text()).get("metrics", {})
    rot, trans = m.get("rot_err"), m.get("trans_err")
    return ("fail" if rot is None else float(rot)), ("fail" if trans is None else float(trans))


def sheet_indices(n: int) -> list[int]:
    return [round(f * (n - 1)) for f in SHEET_FRACTIONS]


def collect(ws, row: Row, reference: np.ndarray, lines, sheet_rows: list, guidance_rows: bool) -> None:
    """Fill `row` from the workspace after one move; add its contact-sheet rows."""
    from shotsmith import workspace as W
    from shotsmith.media import read_video

    video, _fps = read_video(ws.path(W.OUTPUT_VIDEO))
    h, w = video.shape[1:3]
    ref = centre_crop_resize(reference, w, h)
    row.psnr0 = psnr(video[0], ref)
    row.cover, notes = source_coverage(ws)
    row.notes += notes
    row.holes, g_rgb, g_mask = guidance_figures(ws)
    if g_mask is not None and g_mask.shape[1:] == video.shape[1:3]:
        row.psnr0_covered = psnr(video[0], ref, g_mask[0])
    gen = ws.record("generate")
    ti = gen.extra.get("temporal_instability") if gen is not None else None
    row.flicker = None if ti is None else float(ti)
    for line in lines:
        if line.stage == "evaluate":
            row.eval_seconds = line.seconds
            row.rot_err, row.trans_err = eval_figures(ws)
    idx = sheet_indices(len(video))
    sheet_rows.append((f"{row.move}", ref, [(i, video[i]) for i in idx]))
    if guidance_rows and g_rgb is not None:
        tiles = []
        for i in idx:
            j = min(round(i * (len(g_rgb) - 1) / max(len(video) - 1, 1)), len(g_rgb) - 1)
            frame = g_rgb[j].copy()
            frame[~g_mask[j]] = (255, 0, 255)
            tiles.append((j, frame))
        sheet_rows.append((f"{row.move} guidance", None, tiles))


# ---------------------------------------------------------------------------------------------------------------
# Contact sheets


def write_sheet(path: Path, title: str, rows: list, tile_width: int) -> None:
    """One row per entry: (label, reference or None, [(frame index, frame)...]), labelled tiles."""
    from PIL import Image, ImageDraw, ImageFont

    if not rows:
        return
    h0, w0 = rows[0][2][0][1].shape[:2]
    tw = min(tile_width, w0)
    th = max(2, round(h0 * tw / w0))
    cols = 1 + max(len(r[2]) for r in rows)
    gap, head = 4, 22
    sheet = Image.new("RGB", (cols * (tw + gap) + gap, head + len(rows) * (th + gap) + gap), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text((gap, 4), title, fill=(240, 240, 240), font=font)

    def label(x, y, text):
        box = draw.textbbox((x + 3, y + 2), text, font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), text, fill=(255, 255, 0), font=font)

    for r, (name, ref, tiles) in enumerate(rows):
        y = head + gap + r * (th + gap)
        if ref is not None:
            sheet.paste(Image.fromarray(ref).resize((tw, th), Image.Resampling.LANCZOS), (gap, y))
            label(gap, y, f"source | {name}")
        else:
            label(gap, y, name)
        for c, (i, frame) in enumerate(tiles):
            x = gap + (c + 1) * (tw + gap)
            sheet.paste(Image.fromarray(frame).resize((tw, th), Image.Resampling.LANCZOS), (x, y))
            label(x, y, f"f{i}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


# ---------------------------------------------------------------------------------------------------------------
# Runs


@contextlib.contextmanager
def captured(row: Row, verbose: bool):
    """shotsmith's console output of one move: its notes kept in `row.notes` (all of it printed with --verbose)."""
    from shotsmith.console import console

    cap = console.capture()
    cap.__enter__()
    try:
        yield
    finally:
        cap.__exit__(None, None, None)
        text = cap.get()
        if verbose:
            sys.stderr.write(text)
        for line in " ".join(text.split("\n")).split("note:")[1:]:
            line = " ".join(line.split())
            if line and "CLIP weights" not in line and line not in row.notes:
                row.notes.append(line)


def path_fov(camera_path: Path) -> float | None:
    """Horizontal field of view (degrees) of a camera file's first camera."""
    from shotsmith.formats import read_camera_file

    cam = read_camera_file(camera_path)
    fx = float(np.atleast_2d(cam.intrinsics)[0][0])
    return math.degrees(2.0 * math.atan(cam.width / (2.0 * fx)))


def eval_config(quick: bool):
    from shotsmith.stages import evaluate

    if quick:
        return evaluate.Config(max_image_size=320, max_features=1024)
    return evaluate.Config()


def run_photo(inp: Input, args, ws_root: Path) -> tuple[list[Row], list]:
    from shotsmith import workspace as W
    from shotsmith.media import read_image
    from shotsmith.pipeline import RunConfig, run_shot
    from shotsmith.stages import build_cache, generate, plan_trajectory

    reference = read_image(inp.path)
    fov, notes = None, []
    if inp.camera_path is not None and not args.no_path_fov:
        try:
            fov = path_fov(inp.camera_path)
            notes.append(f"--fov {fov:.1f} from {inp.camera_path.name}")
        except Exception as exc:  # a path shotsmith cannot read: measured on its own move
            notes.append(f"no fov from {inp.camera_path.name}: {exc}")
    cache = build_cache.Config(depth=str(inp.depth) if inp.depth else "prior", fov=fov)
    moves = list(args.moves)
    if inp.camera_path is not None:
        moves.append(OWN_PATH)
    ws_dir = ws_root / inp.name
    rows, sheet_rows = [], []
    for move in moves:
        row = Row(inp.name, move, notes=list(notes) if move == moves[0] else [])
        if move == OWN_PATH:
            plan = plan_trajectory.Config(trajectory=str(inp.camera_path), frames=args.frames, size=args.size)
        else:
            plan = plan_trajectory.Config(cam=move, frames=args.frames, size=args.size)
        cfg = RunConfig(
            prompt=inp.name,
            image=str(inp.path),
            workspace=str(ws_dir),
            plan=plan,
            cache=cache,
            generate=generate.Config(generator="inpaint"),
            evaluate=args.evaluate,
            evaluation=eval_config(args.quick),
        )
        start = time.perf_counter()
        try:
            with captured(row, args.verbose):
                ws, lines = run_shot(cfg)
            row.seconds = time.perf_counter() - start
            collect(ws, row, reference, lines, sheet_rows, args.guidance_rows)
            if move == moves[0]:
                info = json.loads(ws.path(W.CACHE_JSON).read_text())
                row.notes.append(
                    f"cache {info['width']}x{info['height']}, fov source {info.get('fov_source')}, "
                    f"{info.get('num_flying_pixels', 0)} flying pixels dropped"
                )
        except Exception as exc:
            row.seconds = time.perf_counter() - start
            row.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            if args.traceback:
                traceback.print_exc()
        rows.append(row)
        print(format_row(row), flush=True)
    return rows, sheet_rows


def run_video(inp: Input, args, ws_root: Path) -> tuple[list[Row], list]:
    from shotsmith import workspace as W
    from shotsmith.media import read_video
    from shotsmith.pipeline import RecaptureConfig, StageLine, recapture
    from shotsmith.stage import execute
    from shotsmith.stages import build_cache, evaluate, generate, plan_trajectory

    first, _ = read_video(inp.path, max_frames=1)
    reference = first[0]
    ws_dir = ws_root / inp.name
    rows, sheet_rows = [], []
    for cam in args.cams:
        row = Row(inp.name, f"cam {cam}")
        cfg = RecaptureConfig(
            video=str(inp.path),
            workspace=str(ws_dir),
            cache=build_cache.Config(frames=args.frames, size=args.size, depth="prior"),
            plan=plan_trajectory.Config(cam=cam),
            generate=generate.Config(generator="inpaint"),
        )
        start = time.perf_counter()
        try:
            with captured(row, args.verbose):
                ws, lines = recapture(cfg)
                if args.evaluate:
                    t0 = time.perf_counter()
                    execute(ws, evaluate.STAGE, eval_config(args.quick))
                    lines.append(StageLine("evaluate", "ran", "pycolmap", time.perf_counter() - t0))
            row.seconds = time.perf_counter() - start
            collect(ws, row, reference, lines, sheet_rows, args.guidance_rows)
            if cam == args.cams[0]:
                info = json.loads(ws.path(W.CACHE_JSON).read_text())
                row.notes.append(
                    f"4D cache {info['width']}x{info['height']}, {info['video'].get('num_frames')} frames"
                )
        except Exception as exc:
            row.seconds = time.perf_counter() - start
            row.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            if args.traceback:
                traceback.print_exc()
        rows.append(row)
        print(format_row(row), flush=True)
    return rows, sheet_rows


# ---------------------------------------------------------------------------------------------------------------
# The table


HEADER = (
    f"{'input':26s} {'move':14s} {'PSNR0':>6s}  {'PSNR0c':>6s} {'cover':>6s}  {'holes':>6s} {'flicker':>7s} "
    f"{'RotErr':>7s} {'TransErr':>8s} {'s':>6s}"
)


def _num(v, spec: str, width: int) -> str:
    if v is None:
        return f"{'n/a':>{width}s}"
    if isinstance(v, str):
        return f"{v:>{width}s}"
    return f"{format(v, spec):>{width}s}"


def format_row(r: Row) -> str:
    if r.error:
        return f"{r.input:26s} {r.move:14s} ERROR {r.error} ({r.seconds:.1f} s)"
    p_mark = "*" if r.psnr0 is not None and r.psnr0 < PSNR_TARGET else " "
    c_mark = "*" if r.cover is not None and r.cover < COVER_TARGET else " "
    return (
        f"{r.input:26s} {r.move:14s} {_num(r.psnr0, '.2f', 6)}{p_mark} {_num(r.psnr0_covered, '.2f', 6)} "
        f"{_num(r.cover, '.4f', 6)}{c_mark} "
        f"{_num(r.holes, '.4f', 6)} {_num(r.flicker, '.2f', 7)} {_num(r.rot_err, '.3f', 7)} "
        f"{_num(r.trans_err, '.3f', 8)} {r.seconds:6.1f}"
    )


def verdicts(rows: list[Row]) -> tuple[str, bool]:
    """The per-input target line and whether every target was met."""
    ok_rows = [r for r in rows if not r.error]
    if not ok_rows:
        return "no move ran", False
    worst = min(r.psnr0 for r in ok_rows)
    cover = ok_rows[0].cover
    psnr_ok = worst >= PSNR_TARGET and len(ok_rows) == len(rows)
    cover_ok = cover >= COVER_TARGET
    bad = [r.move for r in ok_rows if r.psnr0 < PSNR_TARGET]
    text = (
        f"frame 0 >= {PSNR_TARGET:.0f} dB: {'met' if psnr_ok else 'missed'} (worst {worst:.2f} dB"
        + (f"; below on {', '.join(bad)}" if bad else "")
        + (f"; {len(rows) - len(ok_rows)} failed" if len(ok_rows) < len(rows) else "")
        + f"); coverage >= {COVER_TARGET}: {'met' if cover_ok else 'missed'} ({cover:.4f})"
    )
    return text, psnr_ok and cover_ok


def parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "folder", nargs="?", default=str(DEFAULT_FOLDER), help="folder of inputs (default %(default)s)"
    )
    ap.add_argument("--quick", action="store_true", help="33 frames at 416x240, fewer moves and cameras")
    ap.add_argument("--frames", type=int, default=None, help="shot frames (default 81; --quick 33)")
    ap.add_argument(
        "--size", type=parse_size, default=None, help="shot WxH (default 832x480; --quick 416x240)"
    )
    ap.add_argument("--moves", default=None, help=f"comma-separated presets (default {','.join(MOVES)})")
    ap.add_argument("--evaluate", action="store_true", help="also run the evaluate stage (pycolmap, slow)")
    ap.add_argument("--videos", action="store_true", help="also recapture the folder's videos")
    ap.add_argument(
        "--cams", default=None, help=f"recapture cameras (default {','.join(CAMS)}; --quick pan_right,1)"
    )
    ap.add_argument("--skimage", default=",".join(SKIMAGE), help="skimage.data photos, or 'none'")
    ap.add_argument("--no-folder", action="store_true", help="skip FOLDER (skimage photos only)")
    ap.add_argument("--only", default=None, help="comma-separated substrings: inputs whose name contains one")
    ap.add_argument("--no-path-fov", action="store_true", help="RGB-D with a path: shotsmith's default fov")
    ap.add_argument(
        "--no-guidance-rows", dest="guidance_rows", action="store_false", help="sheets: outputs only"
    )
    ap.add_argument("--tile-width", type=int, default=320, help="contact-sheet tile width in pixels")
    ap.add_argument("--out", default=str(OUT), help="output folder (default %(default)s)")
    ap.add_argument("--keep", action="store_true", help="keep the workspaces under OUT/ws/")
    ap.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (default: on errors)"
    )
    ap.add_argument("--verbose", action="store_true", help="print shotsmith's own output too")
    ap.add_argument("--traceback", action="store_true", help="print the traceback of a failed move")
    args = ap.parse_args(argv)
    args.frames = args.frames or (33 if args.quick else 81)
    args.size = args.size or ((416, 240) if args.quick else (832, 480))
    args.moves = [
        m for m in (args.moves.split(",") if args.moves else (QUICK_MOVES if args.quick else MOVES)) if m
    ]
    args.cams = [
        c for c in (args.cams.split(",") if args.cams else (QUICK_CAMS if args.quick else CAMS)) if c
    ]
    out = Path(args.out)
    folder = Path(args.folder)

    inputs = []
    if not args.no_folder:
        if folder.is_dir():
            inputs = discover(folder, args.videos)
        else:
            print(f"note: {folder} is not a folder; only the skimage photos are shot")
    names = [] if args.skimage.strip().lower() in ("", "none") else [n for n in args.skimage.split(",") if n]
    inputs += skimage_inputs(names, out / "inputs")
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        inputs = [i for i in inputs if any(k in i.name for k in keys)]
    w, h = args.size
    print(
        f"bench_real: {len(inputs)} inputs from {folder if not args.no_folder else '-'} + skimage; "
        f"{args.frames} frames at {w}x{h}; moves {','.join(args.moves)}; "
        f"videos {'cams ' + ','.join(args.cams) if args.videos else 'skipped'}; "
        f"evaluate {'on' + (' (small settings)' if args.quick else '') if args.evaluate else 'skipped'}",
        flush=True,
    )
    print(HEADER)
    ws_root = out / "ws"
    all_rows, summary = [], []
    t_all = time.perf_counter()
    for inp in inputs:
        t0 = time.perf_counter()
        runner = run_video if inp.kind == "video" else run_photo
        rows, sheet_rows = runner(inp, args, ws_root)
        sheet = out / f"{inp.name}.png"
        title = f"{inp.name} ({inp.kind}, {inp.path.name}): {args.frames} frames at {w}x{h}"
        try:
            write_sheet(sheet, title, sheet_rows, args.tile_width)
        except Exception as exc:
            print(f"  sheet failed: {exc}")
        text, ok = verdicts(rows)
        secs = time.perf_counter() - t0
        print(f"  -> {inp.name}: {text}; {secs:.1f} s; sheet {sheet}", flush=True)
        for r in rows:
            for n in r.notes:
                print(f"     note ({r.move}): {n}")
        summary.append((inp, text, ok, secs))
        all_rows += rows
        if not args.keep:
            shutil.rmtree(ws_root / inp.name, ignore_errors=True)
    total = time.perf_counter() - t_all

    print()
    print(HEADER)
    print("-" * len(HEADER))
    for r in all_rows:
        print(format_row(r))
    print()
    met = sum(ok for *_, ok, _ in summary)
    for inp, text, _ok, _secs in summary:
        print(f"{inp.name:26s} {text}")
    print(f"targets met on {met} of {len(summary)} inputs; total {total:.1f} s")
    write_reports(out, args, all_rows, summary, total)
    errors = [r for r in all_rows if r.error]
    if errors:
        print(f"FAIL: {len(errors)} shot(s) raised an error")
        return 1
    if args.strict and met < len(summary):
        print(f"FAIL (--strict): targets missed on {len(summary) - met} input(s)")
        return 1
    return 0


def write_reports(out: Path, args, rows: list[Row], summary, total: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tag = "quick" if args.quick else "full"
    data = {
        "frames": args.frames,
        "size": list(args.size),
        "moves": args.moves,
        "cams": args.cams if args.videos else [],
        "evaluate": args.evaluate,
        "total_s": round(total, 1),
        "rows": [r.__dict__ for r in rows],
        "inputs": [
            {"name": i.name, "kind": i.kind, "targets": t, "met": ok, "s": round(s, 1)}
            for i, t, ok, s in summary
        ],
    }
    (out / f"real-{tag}.json").write_text(json.dumps(data, indent=1, default=lambda v: None if v != v else v))
    lines = [
        f"# bench_real ({tag}): {args.frames} frames at {args.size[0]}x{args.size[1]}",
        "",
        "```",
        HEADER,
    ]
    lines += [format_row(r) for r in rows] + ["```", ""]
    lines += [f"- {i.name}: {t}" for i, t, _, _ in summary] + [f"\ntotal {total:.1f} s"]
    (out / f"real-{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
