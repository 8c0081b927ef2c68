"""Image and video files: reading any common photo into RGB uint8, writing and reading H.264 mp4.

Knows pixel formats and codecs, not workspace names. Video goes through imageio-ffmpeg's bundled ffmpeg
(H.264, yuv420p, so every player opens it); masks are stored as grey video. Also the labelled mosaic of
several equally long videos (a rig's output/grid.mp4).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from shotsmith.errors import InputError, check_input_file

#: Video file name endings: such a file given as a photo gets a pointer to `shotsmith recapture`.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB from any image Pillow reads: grey, 16-bit, palette and alpha are handled (alpha is
    composited on white). Raises InputError naming the file when it is missing, empty or unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = check_input_file(path, "image", "an image file (png, jpg, ...)")
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, checked on the header before any pixel is decoded
    try:
        with Image.open(path) as im:
            check_image_size(path, *im.size)
            im = ImageOps.exif_transpose(im)
            im.load()
            return image_to_rgb(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            raise InputError(
                f"{path}: is a video, not a photo; re-shoot a video with `shotsmith recapture {path} --cam PRESET`"
            ) from exc
        raise InputError(f"{path}: not a readable image ({exc}); give a png or jpg") from exc


#: Largest photo read, in pixels (a 16K x 12K photo); its RGB alone takes 0.6 GB, the cache works downscaled.
MAX_IMAGE_PIXELS = 200_000_000


def check_image_size(path, width: int, height: int, limit: int = MAX_IMAGE_PIXELS) -> None:
    """InputError before decoding when an image's header claims more pixels than `limit` (a decompression bomb
    or a photo far larger than any shot needs), saying how much memory it would take."""
    if width * height > limit:
        gb = width * height * 3 / 1e9
        raise InputError(
            f"{path}: the image claims {width}x{height} pixels ({width * height / 1e6:.0f} MP, {gb:.1f} GB as RGB); "
            f"shotsmith reads photos up to {limit / 1e6:.0f} MP: downscale it first (a 4K photo is plenty)"
        )


def image_to_rgb(im) -> np.ndarray:
    """A PIL image of any mode as (H, W, 3) uint8 RGB."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = np.nanmin(arr), np.nanmax(arr)
        grey = ((arr - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(path, format="PNG")


def resize_image(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize (H, W, 3) uint8 with Lanczos (area when shrinking a lot)."""
    from PIL import Image

    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS))


def check_video_size(width: int, height: int) -> None:
    """H.264 in yuv420p needs even sizes."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise InputError(
            f"size {width}x{height}: H.264 video needs positive, even width and height (e.g. 832x480)"
        )


#: Largest shot made, in bytes of its RGB frames (frames x width x height x 3): 16 GB is 1300 frames at 1920x1080.
MAX_SHOT_BYTES = 16_000_000_000


def check_shot_size(frames: int, width: int, height: int, limit: int = MAX_SHOT_BYTES) -> None:
    """InputError before anything is allocated when a shot of `frames` frames at width x height would hold more
    than `limit` bytes of RGB frames, saying how much it would take."""
    need = int(frames) * int(width) * int(height) * 3
    if need > limit:
        raise InputError(
            f"a shot of {frames} frames at {width}x{height}: its frames alone would take {need / 1e9:.3g} GB of "
            f"memory; shotsmith makes shots up to {limit / 1e9:.0f} GB: use fewer frames (--frames, --duration) "
            "or a smaller --size"
        )


#: x264 speed preset: "veryfast" encodes 2.5x faster than the default "medium" for ~4 % larger files (measured
#: on 81 frames at 832x480: 0.8 s vs 2.0 s), which matters since every stage writes several videos.
X264_PRESET = "veryfast"
#: The guidance videos (rgb.mp4, mask.mp4) are for looking at: the generators read the exact frames from
#: depth.npz. x264's fastest preset keeps the same quality target at ~1/3 of the CPU and ~3x the file size.
GUIDANCE_PRESET = "ultrafast"


def write_video(
    path: str | os.PathLike,
    frames,
    fps: float,
    quality: int = 8,
    path_for_errors: str = "",
    preset: str | None = None,
) -> None:
    """Write an iterable of (H, W, 3) or (H, W) uint8 frames as H.264 yuv420p mp4 (x264 `preset`, default
    `X264_PRESET`; the same quality target at any preset, a faster one makes a larger file)."""
    import shutil

    it = iter(frames)
    try:
        first = np.asarray(next(it))
    except StopIteration:
        raise InputError(f"{path_for_errors or path}: no frames to write") from None
    h, w = first.shape[:2]
    check_video_size(w, h)
    grey = first.ndim == 2
    target = Path(path)
    # ffmpeg encodes into a folder of its own beside `path`, then the file is moved onto `path`: an ffmpeg left
    # running by a killed shotsmith (it finishes when its input closes, and +faststart reopens its file by name)
    # then writes only into that folder, which the next run sweeps (`workspace._sweep_temporaries`: it carries
    # `path`'s temporary name), never into the workspace. A link, a device or a pipe is written through.
    plain = not target.is_symlink() and (target.is_file() or not os.path.lexists(target))
    work = target.with_name(target.name + ".ffmpeg") if plain else None
    if work is not None:
        work.mkdir(exist_ok=True)
    try:
        _encode(
            work / "video.mp4" if work is not None else target, first, it, w, h, grey, fps, quality, preset
        )
        if work is not None:
            os.replace(work / "video.mp4", target)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _encode(path: Path, first, it, w: int, h: int, grey: bool, fps: float, quality: int, preset) -> None:
    """`write_video`'s ffmpeg run into `path` (its exit status checked)."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        (w, h),
        fps=float(fps),
        codec="libx264",
        pix_fmt_in="gray" if grey else "rgb24",
        pix_fmt_out="yuv420p",
        quality=quality,
        macro_block_size=2,
        output_params=["-preset", preset or X264_PRESET, "-movflags", "+faststart", "-f", "mp4"],
        ffmpeg_log_level="quiet",  # a failure is reported below in one line, not as ffmpeg's log on stderr
    )
    writer.send(None)
    # imageio-ffmpeg never checks ffmpeg's exit status (a full disk left a truncated mp4 that was trusted): its
    # generator's process `p`, read while it is suspended, says how ffmpeg ended.
    proc = writer.gi_frame.f_locals.get("p") if writer.gi_frame is not None else None
    try:
        writer.send(np.ascontiguousarray(first, dtype=np.uint8))
        for frame in it:
            writer.send(np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)))
    except OSError as exc:  # ffmpeg stopped reading: its multi-line message, made one line
        writer.close()
        raise OSError(_ffmpeg_failure(path, getattr(proc, "returncode", None))) from exc
    finally:
        writer.close()
    code = getattr(proc, "returncode", 0)
    if code or (proc is None and not os.path.getsize(path)):
        raise OSError(_ffmpeg_failure(path, code))


def _ffmpeg_failure(path, code) -> str:
    import shutil

    try:
        full = shutil.disk_usage(Path(path).resolve().parent).free < 64 * 1024**2
    except OSError:
        full = False
    why = "; the disk is full" if full else ""
    return f"ffmpeg could not write the video (exit status {code}{why})"


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """(T, H, W, 3) uint8 frames and fps of a video (any container/codec ffmpeg reads)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such video file; check the path")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); give a real video")
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as exc:
        raise InputError(f"{path}: not a readable video ({str(exc).splitlines()[0][:200]})") from exc
    w, h = meta["size"]
    frames = []
    try:
        for i, buf in enumerate(reader):
            if max_frames is not None and i >= max_frames:
                break
            frames.append(np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3))
    except RuntimeError as exc:
        raise InputError(f"{path}: stream is corrupt after frame {len(frames)} ({str(exc)[:200]})") from exc
    finally:
        reader.close()
    if not frames:
        raise InputError(f"{path}: the video has no frames")
    return np.stack(frames), float(meta.get("fps") or 0.0)


def read_mask_video(path: str | os.PathLike) -> np.ndarray:
    """(T, H, W) bool from a grey mask video written by `write_video` (threshold at 128)."""
    frames, _ = read_video(path)
    return frames[..., 0] >= 128


# ---------------------------------------------------------------------------------------------------------------
# Writing in the background


class BackgroundWriter:
    """Writes files on one background thread while the next view is rendered or generated (ffmpeg encodes in
    its own process, so this overlaps real work); at most two writes wait at once (bounding the frames held in
    memory); `__exit__` waits and re-raises the first error."""

    def __enter__(self) -> BackgroundWriter:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotsmith-writer")
        self._futures: list = []
        return self

    def submit(self, fn, *args, **kwargs) -> None:
        while len([f for f in self._futures if not f.done()]) >= 2:  # bound the frames held in memory
            next(f for f in self._futures if not f.done()).result()
        self._futures.append(self._pool.submit(fn, *args, **kwargs))

    def __exit__(self, *exc) -> None:
        try:
            for f in self._futures:
                f.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------------------------
# Mosaics


def grid_layout(count: int, width: int, height: int, max_width: int) -> tuple[int, int, int, int]:
    """(columns, rows, tile width, tile height) of a near-square mosaic of `count` views of width x height,
    tiles scaled down (never up) so the mosaic is at most `max_width` wide; tile sizes even."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    scale = min(1.0, max_width / float(cols * width))
    tw = max(2, int(width * scale) // 2 * 2)
    th = max(2, int(round(height * tw / width)) // 2 * 2)
    return cols, rows, tw, th


def grid_frames(videos: list[np.ndarray], names: list[str], max_width: int, labels: bool = True):
    """Yield (rows*th, cols*tw, 3) uint8 mosaic frames of equally long (T, H, W, 3) videos (black empty tiles)."""
    import cv2

    t_, h, w = videos[0].shape[:3]
    cols, rows, tw, th = grid_layout(len(videos), w, h, max_width)
    for t in range(t_):
        frame = np.zeros((rows * th, cols * tw, 3), np.uint8)
        for k, (video, name) in enumerate(zip(videos, names, strict=True)):
            tile = (
                video[t]
                if (tw, th) == (w, h)
                else cv2.resize(video[t], (tw, th), interpolation=cv2.INTER_AREA)
            )
            if labels:
                tile = tile.copy()
                scale = max(0.3, th / 480.0)
                cv2.putText(
                    tile,
                    name,
                    (4, int(14 * scale) + 4),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * scale,
                    (255, 255, 255),
                    1,
                    cv2.LINE_AA,
                )
            r, c = divmod(k, cols)
            frame[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = tile
        yield frame
