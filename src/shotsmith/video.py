"""Source videos for `recapture`: probe, decode to the shot's frames, fit (crop or pad), audio and side-by-side.

Owns everything about reading a user's video through the bundled ffmpeg (imageio-ffmpeg's binary): probing the
container (size after rotation metadata, frame rate, duration, audio), decoding a constant-rate run of frames at
the shot's size (variable frame rate sources are resampled by timestamp with ffmpeg's `fps` filter; ffmpeg
applies the rotation metadata itself), the geometry of the centre crop or letterbox pad (`Fit`, which also maps
intrinsics and depth maps the way the pixels were mapped), what happens when the video is shorter than the shot
(`--short pad|loop|error`), carrying the source's audio over into a rendered video, and the source | result
side-by-side. Errors are `InputError`s that name the file and the fix; a stream that breaks mid-file names the
frame where decoding stopped. It knows nothing of workspaces, depth or cameras beyond `Fit.intrinsics`.
`shotsmith.media` keeps the simple whole-file reader and the H.264 writer used here.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.errors import InputError, check_input_file

FitMode = Literal["crop", "pad"]
ShortPolicy = Literal["pad", "loop", "error"]
FIT_MODES: tuple[str, ...] = ("crop", "pad")
SHORT_POLICIES: tuple[str, ...] = ("pad", "loop", "error")

#: Shot length when the user gives none (frames; Wan2.1 / ReCamMaster's 81).
DEFAULT_FRAMES = 81
#: Sources with more pixels than this (4K UHD) are announced as downscaled while decoding.
LARGE_SOURCE_PIXELS = 3840 * 2160
#: Frame rate assumed when the container says nothing usable (a note is printed).
FALLBACK_FPS = 30.0
#: Formats ffmpeg reports for still images: a still is not a video.
IMAGE_FORMATS = (
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "bmp_pipe",
    "webp_pipe",
    "tiff_pipe",
    "gif_pipe",
    "jpegxl_pipe",
)
#: Largest frame (pixels) we let ffmpeg hand over before scaling; also guards nonsense headers.
MAX_DECODE_PIXELS = 16384 * 16384


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary (imageio-ffmpeg)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# ---------------------------------------------------------------------------------------------------------------
# Probing


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg says about a video file before decoding."""

    path: str
    """The file."""
    width: int
    """Displayed width in pixels (after rotation metadata)."""
    height: int
    """Displayed height in pixels (after rotation metadata)."""
    fps: float
    """Average frame rate (frames per second; `FALLBACK_FPS` when the file gives none)."""
    duration: float | None
    """Seconds, or None when the container does not say."""
    codec: str
    """Video codec name (h264, hevc, vp9...)."""
    container: str
    """Container format as ffmpeg names it (mov,mp4,m4a,..., matroska,webm...)."""
    rotation: float = 0.0
    """Display rotation in degrees from the metadata (ffmpeg applies it when decoding)."""
    has_audio: bool = False
    """True when the file has at least one audio stream."""
    audio_codec: str = ""
    """The first audio stream's codec ("" without audio)."""
    fps_known: bool = True
    """False when the frame rate was not in the file and `FALLBACK_FPS` stands in."""

    @property
    def estimated_frames(self) -> int | None:
        """Frames at `fps` over `duration` (None when the duration is unknown)."""
        if self.duration is None:
            return None
        return max(1, int(round(self.duration * self.fps)))


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):([\d.]+)")
_INPUT = re.compile(r"Input #0,\s*(.+?),\s*from")
_SIZE = re.compile(r"[ ,](\d{1,5})x(\d{1,5})[ ,\[]")
_FPS = re.compile(r"([\d.]+)\s*fps")
_TBR = re.compile(r"([\d.]+)(k?)\s*tbr")
_ROTATION = re.compile(r"rotation of\s*(-?[\d.]+)\s*degrees")


def _first_error_line(text: str) -> str:
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if any(k in ln for k in ("Invalid data", "Error", "error", "corrupt", "moov atom not found")):
            return ln[:200]
    return (lines[-1] if lines else "no output from ffmpeg")[:200]


def parse_probe(text: str, path: str) -> VideoInfo:
    """A `VideoInfo` from the stderr of `ffmpeg -i FILE` (raises InputError when there is no video stream)."""
    m = _INPUT.search(text)
    container = m.group(1).strip() if m else ""
    stream_lines = [ln for ln in text.splitlines() if ln.lstrip().startswith("Stream #")]
    video = [ln for ln in stream_lines if " Video: " in ln]
    if not video:
        raise InputError(
            f"{path}: not a readable video ({_first_error_line(text)}); give an mp4, mov, mkv or webm"
        )
    line = video[0]
    codec = line.split("Video: ", 1)[1].split()[0].strip(",")
    if container in IMAGE_FORMATS or container.endswith("_pipe"):
        raise InputError(
            f"{path}: is a still image ({codec}), not a video; use `shotsmith run --image {path}` for a photo"
        )
    size = _SIZE.search(line)
    if not size:
        raise InputError(
            f"{path}: ffmpeg reports no frame size for its video stream; the file may be damaged"
        )
    width, height = int(size.group(1)), int(size.group(2))
    fps_m = _FPS.search(line)
    fps = float(fps_m.group(1)) if fps_m else 0.0
    if not (math.isfinite(fps) and fps > 0):
        tbr = _TBR.search(line)
        if tbr:
            fps = float(tbr.group(1)) * (1000.0 if tbr.group(2) else 1.0)
    fps_known = math.isfinite(fps) and 0 < fps <= 1000
    if not fps_known:
        fps = FALLBACK_FPS
    dur = _DURATION.search(text)
    duration = None
    if dur:
        duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))
    rot = _ROTATION.search(text)
    rotation = float(rot.group(1)) if rot else 0.0
    if round(rotation) % 180 == 90 or round(rotation) % 180 == -90:
        width, height = height, width
    audio = [ln for ln in stream_lines if " Audio: " in ln]
    audio_codec = audio[0].split("Audio: ", 1)[1].split()[0].strip(",") if audio else ""
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        codec=codec,
        container=container,
        rotation=rotation,
        has_audio=bool(audio),
        audio_codec=audio_codec,
        fps_known=fps_known,
    )


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Probe a video with the bundled ffmpeg. Raises InputError naming the file when it is missing, empty, an
    image, or not something ffmpeg can open."""
    path = Path(path)
    check_input_file(path, "video", "a video file (mp4, mov, mkv, webm...)")
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, errors="replace"
    )
    return parse_probe(proc.stderr, str(path))


# ---------------------------------------------------------------------------------------------------------------
# Fitting the source frame into the shot's frame


@dataclass(frozen=True)
class Fit:
    """How source pixels land in the shot's frame: scale to `scaled_size`, then place at `offset`.

    crop: the scaled source covers the target and is centre-cropped (ReCamMaster's preprocessing);
    pad: the scaled source fits inside the target, centred, with black bars (no content there).
    """

    mode: FitMode
    """"crop" or "pad"."""
    source_size: tuple[int, int]
    """(width, height) of the decoded source (after rotation)."""
    scaled_size: tuple[int, int]
    """(width, height) the source is resized to."""
    offset: tuple[int, int]
    """(x, y) of the scaled source's top-left corner in the target (<= 0 for crop, >= 0 for pad)."""
    target_size: tuple[int, int]
    """(width, height) of the shot."""

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy) from source to scaled pixels."""
        return self.scaled_size[0] / self.source_size[0], self.scaled_size[1] / self.source_size[1]

    def intrinsics(self, source_intrinsics) -> np.ndarray:
        """(4,) target intrinsics of a source camera with (4,) `source_intrinsics` at `source_size`
        (pixel-centre exact: u' = sx u + ox)."""
        fx, fy, cx, cy = np.asarray(source_intrinsics, dtype=np.float64).reshape(4)
        sx, sy = self.scale
        return np.array([fx * sx, fy * sy, cx * sx + self.offset[0], cy * sy + self.offset[1]])

    def content_mask(self) -> np.ndarray:
        """(H, W) bool: True where the target shows source content (all True for crop)."""
        w, h = self.target_size
        mask = np.zeros((h, w), bool)
        x0, y0 = max(0, self.offset[0]), max(0, self.offset[1])
        x1 = min(w, self.offset[0] + self.scaled_size[0])
        y1 = min(h, self.offset[1] + self.scaled_size[1])
        mask[y0:y1, x0:x1] = True
        return mask

    def apply_to_depth(self, depth: np.ndarray) -> np.ndarray:
        """(H, W) float32 target depth from a (h, w) depth map of the source frame (any size with the source's
        aspect; resized without mixing valid and invalid pixels); 0 outside the content."""
        from shotsmith.geometry import resize_depth

        d = np.asarray(depth, dtype=np.float32)
        scaled = resize_depth(d, *self.scaled_size)
        return _place(scaled, self.offset, self.target_size)

    def ffmpeg_filter(self) -> str:
        """The ffmpeg video filter doing the same resize and crop/pad."""
        sw, sh = self.scaled_size
        w, h = self.target_size
        shrink = sw < self.source_size[0]
        flags = "area" if shrink else "bicubic"
        scale = f"scale={sw}:{sh}:flags={flags}"
        if self.mode == "crop":
            return f"{scale},crop={w}:{h}:{-self.offset[0]}:{-self.offset[1]}"
        return f"{scale},pad={w}:{h}:{self.offset[0]}:{self.offset[1]}:black"


def _place(image: np.ndarray, offset: tuple[int, int], target_size: tuple[int, int]) -> np.ndarray:
    """Put (h, w, ...) `image` with its top-left at `offset` into a zero (H, W, ...) canvas (clipping)."""
    w, h = target_size
    out = np.zeros((h, w, *image.shape[2:]), image.dtype)
    ox, oy = offset
    sx0, sy0 = max(0, -ox), max(0, -oy)
    dx0, dy0 = max(0, ox), max(0, oy)
    cw = min(image.shape[1] - sx0, w - dx0)
    ch = min(image.shape[0] - sy0, h - dy0)
    if cw > 0 and ch > 0:
        out[dy0 : dy0 + ch, dx0 : dx0 + cw] = image[sy0 : sy0 + ch, sx0 : sx0 + cw]
    return out


def compute_fit(source_size: tuple[int, int], target_size: tuple[int, int], mode: FitMode = "crop") -> Fit:
    """The `Fit` of a (width, height) source into a (width, height) target, centred."""
    if mode not in FIT_MODES:
        raise InputError(f"--fit {mode!r}: choose one of {', '.join(FIT_MODES)}")
    (w0, h0), (w, h) = source_size, target_size
    if min(w0, h0, w, h) <= 0:
        raise InputError(f"cannot fit a {w0}x{h0} source into a {w}x{h} shot: sizes must be positive")
    if mode == "crop":
        s = max(w / w0, h / h0)
        sw, sh = max(w, int(round(w0 * s))), max(h, int(round(h0 * s)))
        offset = (-((sw - w) // 2), -((sh - h) // 2))
    else:
        s = min(w / w0, h / h0)
        sw, sh = min(w, max(1, int(round(w0 * s)))), min(h, max(1, int(round(h0 * s))))
        offset = ((w - sw) // 2, (h - sh) // 2)
    return Fit(
        mode, (int(w0), int(h0)), (int(sw), int(sh)), (int(offset[0]), int(offset[1])), (int(w), int(h))
    )


# ---------------------------------------------------------------------------------------------------------------
# Time: which source moment each shot frame shows


def shot_frame_indices(available: int, frames: int, policy: ShortPolicy, path: str = "video") -> np.ndarray:
    """(frames,) indices into the `available` decoded frames: 0..frames-1 when there are enough; otherwise the
    last frame held (`pad`), the clip repeated from its start (`loop`), or an InputError (`error`)."""
    if policy not in SHORT_POLICIES:
        raise InputError(f"--short {policy!r}: choose one of {', '.join(SHORT_POLICIES)}")
    if available < 1:
        raise InputError(f"{path}: the video has no frames")
    idx = np.arange(frames)
    if available >= frames:
        return idx
    if policy == "error":
        raise InputError(
            f"{path}: has only {available} frames at the shot's frame rate but the shot needs {frames}; "
            f"use --frames {available}, or --short loop / --short pad"
        )
    if policy == "pad":
        return np.minimum(idx, available - 1)
    return idx % available


# ---------------------------------------------------------------------------------------------------------------
# Decoding


@dataclass
class DecodeOptions:
    """How a source video becomes the shot's frames."""

    frames: int | None = None
    """Shot length in frames; None = `DEFAULT_FRAMES`, or the whole video when it is shorter (with a note)."""
    fps: float | None = None
    """Shot frame rate; None keeps the source's. The source is resampled by timestamp (variable frame rate
    sources included)."""
    width: int = 832
    """Shot width in pixels (even)."""
    height: int = 480
    """Shot height in pixels (even)."""
    fit: FitMode = "crop"
    """"crop": centre crop to the shot's aspect (ReCamMaster's way); "pad": letterbox with black bars."""
    short: ShortPolicy = "error"
    """What to do when the video is shorter than an explicit `frames`: pad (hold the last frame), loop, error."""
    large_pixels: int = LARGE_SOURCE_PIXELS
    """Sources with more pixels than this are announced ("downscaled while decoding")."""

    def validate(self) -> None:
        from shotsmith.media import check_shot_size, check_video_size

        check_video_size(self.width, self.height)
        if self.frames is not None and (
            isinstance(self.frames, bool) or int(self.frames) != self.frames or self.frames < 2
        ):
            raise InputError(
                f"--frames {self.frames}: a recaptured shot needs a whole number >= 2 of frames, e.g. 81"
            )
        if self.frames is not None:
            check_shot_size(int(self.frames), self.width, self.height)
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"--fps {self.fps}: frames per second must be positive, e.g. --fps 16")
        if self.fit not in FIT_MODES:
            raise InputError(f"--fit {self.fit!r}: choose one of {', '.join(FIT_MODES)}")
        if self.short not in SHORT_POLICIES:
            raise InputError(f"--short {self.short!r}: choose one of {', '.join(SHORT_POLICIES)}")


@dataclass
class Clip:
    """A source video decoded to the shot's frames."""

    frames: np.ndarray
    """(T, H, W, 3) uint8 shot frames (source content fitted to the shot size)."""
    fps: float
    """Shot frame rate."""
    info: VideoInfo
    """The probe of the source."""
    fit: Fit
    """How source pixels map to shot pixels."""
    source_index: np.ndarray
    """(T,) index of each shot frame among the decoded constant-rate frames (differs from 0..T-1 with
    --short pad or loop)."""
    available: int
    """Frames the video has at the shot's frame rate (up to the requested count)."""
    notes: list[str] = field(default_factory=list)
    """Things the user should know (downscaled, shortened, looped...)."""

    @property
    def source_times(self) -> np.ndarray:
        """(T,) seconds into the source video of each shot frame."""
        return self.source_index / self.fps

    @property
    def content_mask(self) -> np.ndarray:
        """(H, W) bool, True where frames show source content (False on pad bars)."""
        return self.fit.content_mask()

    @property
    def audio_seconds(self) -> float:
        """Seconds of source audio that belong to the shot (the span of distinct source frames)."""
        return min(len(self.frames), self.available) / self.fps


def _read_frames(
    path: Path, vf: str, fps: float, max_frames: int, size: tuple[int, int], source_fps: float
) -> np.ndarray:
    """(n, H, W, 3) uint8 frames ffmpeg decodes with filter `vf` at constant `fps`, at most `max_frames`."""
    w, h = size
    frame_bytes = w * h * 3
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-xerror",
        "-i", str(path),
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"fps={fps:.6f},{vf}",
        "-frames:v", str(int(max_frames)),
        "-pix_fmt", "rgb24", "-f", "rawvideo", "-",
    ]  # fmt: skip
    out = np.empty((max_frames, h, w, 3), np.uint8)
    n = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        assert proc.stdout is not None
        try:
            while n < max_frames:
                buf = proc.stdout.read(frame_bytes)
                if not buf:
                    break
                if len(buf) < frame_bytes:
                    break
                out[n] = np.frombuffer(buf, np.uint8).reshape(h, w, 3)
                n += 1
        finally:
            proc.stdout.close()
            code = proc.wait()
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        seconds = n / fps
        raise InputError(
            f"{path}: the video stream is corrupt at frame {n} (about {seconds:.2f} s in, source frame "
            f"~{int(round(seconds * source_fps))}); {n} frames decoded before it broke (ffmpeg: "
            f"{_first_error_line(log)}); re-encode or trim the file, e.g. --frames {max(n, 2)}"
        )
    return out[:n]


def decode_video(path: str | os.PathLike, options: DecodeOptions | None = None) -> Clip:
    """Decode `path` to the shot's frames: a constant-rate run from the start at the shot's fps, fitted to its
    size (`Fit`), shortened or extended per `options`. Raises InputError for a missing, empty, still-image,
    unreadable, one-frame, too-short (with --short error) or corrupt video, naming the file (and the frame)."""
    opts = options or DecodeOptions()
    opts.validate()
    path = Path(path)
    info = probe_video(path)
    notes: list[str] = []
    if not info.fps_known:
        notes.append(f"{path}: no frame rate in the file; assuming {FALLBACK_FPS:g} fps (set --fps)")
    if info.width * info.height > MAX_DECODE_PIXELS:
        raise InputError(
            f"{path}: {info.width}x{info.height} is larger than shotsmith decodes "
            f"({MAX_DECODE_PIXELS} pixels); downscale it first (ffmpeg -vf scale=3840:-2)"
        )
    fps = float(opts.fps) if opts.fps is not None else info.fps
    fit = compute_fit((info.width, info.height), (opts.width, opts.height), opts.fit)
    if info.width * info.height > opts.large_pixels:
        notes.append(
            f"{path}: {info.width}x{info.height} is a large source; downscaled to {fit.scaled_size[0]}x"
            f"{fit.scaled_size[1]} while decoding ({opts.fit} to {opts.width}x{opts.height})"
        )
    wanted = DEFAULT_FRAMES if opts.frames is None else int(opts.frames)
    frames = _read_frames(path, fit.ffmpeg_filter(), fps, wanted, (opts.width, opts.height), info.fps)
    available = len(frames)
    if available == 0:
        raise InputError(f"{path}: ffmpeg decoded no frames from the video stream; the file may be damaged")
    if available == 1:
        raise InputError(
            f"{path}: the video has a single frame; recapture needs a moving picture "
            f"(for a still use `shotsmith run --image {path}`)"
        )
    if opts.frames is None and available < wanted:
        notes.append(
            f"{path}: {available} frames at {fps:g} fps; the shot is {available} frames long (set --frames)"
        )
        wanted = available
    index = shot_frame_indices(available, wanted, opts.short, str(path))
    if available < wanted:
        how = "holding the last frame" if opts.short == "pad" else "looping the clip"
        notes.append(
            f"{path}: {available} frames at {fps:g} fps for a {wanted}-frame shot; {how} (--short {opts.short})"
        )
    return Clip(
        frames=frames[index] if available < wanted else frames,
        fps=fps,
        info=info,
        fit=fit,
        source_index=index,
        available=available,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------------------------
# Audio and side-by-side


def has_audio(path: str | os.PathLike) -> bool:
    """True when ffmpeg finds an audio stream in `path`."""
    try:
        return probe_video(path).has_audio
    except InputError:
        return False


def mux_audio(
    video: str | os.PathLike,
    audio_source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    start: float = 0.0,
    duration: float | None = None,
) -> None:
    """Write `out` = `video`'s picture (copied, not re-encoded) + `audio_source`'s first audio stream from
    `start` for `duration` seconds, as AAC; padded with silence or cut to the picture's length."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(video)]
    if start > 0:
        cmd += ["-ss", f"{start:.6f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    cmd += [
        "-i", str(audio_source),
        "-map", "0:v", "-map", "1:a:0?", "-c:v", "copy", "-c:a", "aac", "-af", "apad", "-shortest",
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise InputError(
            f"{audio_source}: could not carry its audio over into {out} (ffmpeg: {_first_error_line(proc.stderr)})"
        )


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 0) -> np.ndarray:
    """(T, H, W1 + gap + W2, 3) uint8: `left` (T, H1, W1, 3) resized to `right`'s height (T, H, W2, 3), then
    `right`; frame counts must match. The total width is made even (a black column) for H.264."""
    return np.stack(list(side_by_side_frames(left, right, gap)))


def side_by_side_frames(left: np.ndarray, right: np.ndarray, gap: int = 0):
    """`side_by_side`'s frames one at a time (an encoder takes them as they come: no (T, H, W1 + W2, 3) stack).
    The frame counts are checked at once."""
    from shotsmith.media import resize_image

    left, right = np.asarray(left), np.asarray(right)
    if len(left) != len(right):
        raise InputError(f"side by side: {len(left)} source frames vs {len(right)} result frames")
    t, h, w2 = right.shape[:3]
    w1 = left.shape[2] if left.shape[1] == h else max(1, int(round(left.shape[2] * h / left.shape[1])))
    total = w1 + gap + w2
    total += total % 2

    def frames():
        for src, res in zip(left, right, strict=True):
            out = np.zeros((h, total, 3), np.uint8)
            out[:, :w1] = src if src.shape[0] == h else resize_image(src, w1, h)
            out[:, w1 + gap : w1 + gap + w2] = res
            yield out

    return frames()


__all__ = [
    "Clip",
    "DecodeOptions",
    "FIT_MODES",
    "Fit",
    "SHORT_POLICIES",
    "VideoInfo",
    "compute_fit",
    "decode_video",
    "ffmpeg_exe",
    "has_audio",
    "mux_audio",
    "parse_probe",
    "probe_video",
    "shot_frame_indices",
    "side_by_side",
]
