"""Source videos: probing, decoding to the shot, fit geometry, short videos, bad inputs, audio, side-by-side."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from shotsmith.errors import InputError
from shotsmith.media import write_image, write_video
from shotsmith.video import (
    DecodeOptions,
    compute_fit,
    decode_video,
    ffmpeg_exe,
    mux_audio,
    probe_video,
    shot_frame_indices,
    side_by_side,
)


def _frames(n: int, w: int = 64, h: int = 48) -> np.ndarray:
    """n frames whose mean brightness encodes the frame index (robust to compression)."""
    y, x = np.mgrid[0:h, 0:w]
    out = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        out[i, ..., 0] = (x * 3 + i * 7) % 256
        out[i, ..., 1] = 20 + 12 * i
        out[i, ..., 2] = (y * 4) % 256
    return out


def _make_video(path, n=12, w=64, h=48, fps=12.0, audio=False):
    write_video(path, _frames(n, w, h), fps)
    if audio:
        tmp = path.with_name(path.stem + "-a.mp4")
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-f", "lavfi", "-i",
             "sine=frequency=440:sample_rate=22050", "-t", f"{n / fps:.3f}", "-map", "0:v", "-map", "1:a",
             "-c:v", "copy", "-c:a", "aac", str(tmp)],
            check=True,
        )  # fmt: skip
        tmp.replace(path)
    return path


def _streams(path) -> str:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return proc.stderr


class TestProbe:
    def test_known_values(self, tmp_path):
        info = probe_video(_make_video(tmp_path / "v.mp4", n=12, fps=12.0, audio=True))
        assert (info.width, info.height) == (64, 48)
        assert info.fps == pytest.approx(12.0)
        assert info.duration == pytest.approx(1.0, abs=0.1)
        assert info.has_audio and info.codec == "h264"

    def test_rotation_metadata_swaps_the_size(self, tmp_path):
        src = _make_video(tmp_path / "v.mp4")
        rot = tmp_path / "rot.mp4"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-y",
                "-display_rotation",
                "90",
                "-i",
                str(src),
                "-c",
                "copy",
                str(rot),
            ],
            check=True,
        )
        info = probe_video(rot)
        assert abs(info.rotation) == 90 and (info.width, info.height) == (48, 64)
        clip = decode_video(rot, DecodeOptions(width=48, height=64))
        assert clip.frames.shape[1:] == (64, 48, 3)  # ffmpeg applied the rotation: portrait frames


class TestFit:
    def test_crop_intrinsics_follow_the_pixels(self):
        fit = compute_fit((160, 96), (64, 48), "crop")
        assert fit.scaled_size == (80, 48) and fit.offset == (-8, 0)
        k = fit.intrinsics([100.0, 100.0, 80.0, 48.0])
        assert k == pytest.approx([50.0, 50.0, 32.0, 24.0])
        assert fit.content_mask().all()

    def test_pad_has_bars_outside_the_content(self):
        fit = compute_fit((64, 64), (64, 48), "pad")
        assert fit.scaled_size == (48, 48) and fit.offset == (8, 0)
        mask = fit.content_mask()
        assert not mask[:, :8].any() and mask[:, 8:56].all() and not mask[:, 56:].any()
        depth = fit.apply_to_depth(np.ones((64, 64), np.float32))
        assert (depth[mask] == 1).all() and (depth[~mask] == 0).all()

    def test_pad_decodes_black_bars(self, tmp_path):
        clip = decode_video(
            _make_video(tmp_path / "v.mp4", w=48, h=48), DecodeOptions(width=64, height=48, fit="pad")
        )
        assert clip.frames[:, :, :6].max() < 20 and clip.frames[:, :, 10:54].mean() > 40


class TestShort:
    def test_policies(self):
        assert shot_frame_indices(5, 3, "error").tolist() == [0, 1, 2]
        assert shot_frame_indices(3, 5, "pad").tolist() == [0, 1, 2, 2, 2]
        assert shot_frame_indices(3, 7, "loop").tolist() == [0, 1, 2, 0, 1, 2, 0]
        with pytest.raises(InputError, match="--short loop"):
            shot_frame_indices(3, 5, "error")

    def test_decode_loop_and_pad(self, tmp_path):
        path = _make_video(tmp_path / "v.mp4", n=12)
        loop = decode_video(path, DecodeOptions(frames=17, width=64, height=48, short="loop"))
        assert len(loop.frames) == 17 and loop.available == 12
        assert np.abs(loop.frames[12].astype(int) - loop.frames[0]).mean() < 3
        pad = decode_video(path, DecodeOptions(frames=17, width=64, height=48, short="pad"))
        assert np.array_equal(pad.frames[16], pad.frames[11])
        assert any("holding the last frame" in n for n in pad.notes)

    def test_default_length_is_the_video_when_shorter(self, tmp_path):
        clip = decode_video(_make_video(tmp_path / "v.mp4", n=12), DecodeOptions(width=64, height=48))
        assert len(clip.frames) == 12 and any("12 frames" in n for n in clip.notes)

    def test_fps_resampling_by_timestamp(self, tmp_path):
        clip = decode_video(
            _make_video(tmp_path / "v.mp4", n=12, fps=12), DecodeOptions(width=64, height=48, fps=6)
        )
        assert len(clip.frames) == 6 and clip.fps == 6
        # frame k at 6 fps shows source frame 2k (green channel encodes the index)
        green = clip.frames[..., 1].mean(axis=(1, 2))
        assert np.allclose(green, 20 + 12 * np.arange(0, 12, 2), atol=3)

    def test_variable_frame_rate(self, tmp_path):
        vfr = tmp_path / "vfr.mp4"
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-t", "1.2", "-i", "testsrc=size=64x48:rate=10",
             "-vf", "setpts='if(lt(N,6),N/10,0.6+(N-6)/5)/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
             "-pix_fmt", "yuv420p", str(vfr)],
            check=True,
        )  # fmt: skip
        clip = decode_video(vfr, DecodeOptions(width=64, height=48, fps=10))
        # 12 source frames: 6 at 10 fps (0-0.5 s), then 6 at 5 fps (0.6-1.6 s): about 17 frames at 10 fps
        assert clip.info.fps < 10
        assert 16 <= len(clip.frames) <= 18


class TestBadInput:
    def test_missing_and_empty(self, tmp_path):
        with pytest.raises(InputError, match="no such video"):
            decode_video(tmp_path / "nope.mp4")
        (tmp_path / "empty.mp4").write_bytes(b"")
        with pytest.raises(InputError, match="empty"):
            decode_video(tmp_path / "empty.mp4")

    def test_not_a_video(self, tmp_path):
        (tmp_path / "notes.mp4").write_text("this is not a video\n" * 20)
        with pytest.raises(InputError, match="not a readable video"):
            decode_video(tmp_path / "notes.mp4")

    def test_still_image(self, tmp_path):
        write_image(tmp_path / "photo.png", _frames(1)[0])
        with pytest.raises(InputError, match="still image"):
            decode_video(tmp_path / "photo.png")

    def test_one_frame(self, tmp_path):
        with pytest.raises(InputError, match="single frame"):
            decode_video(_make_video(tmp_path / "one.mp4", n=1), DecodeOptions(width=64, height=48))

    def test_corrupt_mid_file_names_the_frame(self, tmp_path):
        rng = np.random.default_rng(0)
        noisy = rng.integers(0, 256, (24, 48, 64, 3), dtype=np.uint8)
        path = tmp_path / "noise.mp4"
        write_video(path, noisy, 12)  # moov first (+faststart): a cut file still opens
        data = path.read_bytes()
        cut = tmp_path / "cut.mp4"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError, match=r"corrupt at frame \d+") as exc:
            decode_video(cut, DecodeOptions(frames=24, width=64, height=48))
        assert "\n" not in str(exc.value)

    def test_large_source_is_downscaled_with_a_note(self, tmp_path):
        path = _make_video(tmp_path / "big.mp4", n=3, w=320, h=240)
        clip = decode_video(path, DecodeOptions(width=64, height=48, large_pixels=320 * 240 - 1))
        assert clip.frames.shape[1:3] == (48, 64)
        assert any("large source" in n and "downscaled" in n for n in clip.notes)

    def test_bad_options(self):
        with pytest.raises(InputError, match="--fit"):
            DecodeOptions(fit="stretch").validate()  # type: ignore[arg-type]
        with pytest.raises(InputError, match="even"):
            DecodeOptions(width=63).validate()


class TestAudio:
    def test_mux_keeps_audio(self, tmp_path):
        src = _make_video(tmp_path / "a.mp4", audio=True)
        silent = _make_video(tmp_path / "s.mp4")
        out = tmp_path / "out.mp4"
        mux_audio(silent, src, out, duration=1.0)
        assert "Audio:" in _streams(out) and "Video:" in _streams(out)

    def test_source_without_audio_gives_video_only(self, tmp_path):
        silent = _make_video(tmp_path / "s.mp4")
        out = tmp_path / "out.mp4"
        mux_audio(silent, silent, out)
        assert "Audio:" not in _streams(out) and "Video:" in _streams(out)


def test_side_by_side_shapes():
    left = np.full((3, 24, 32, 3), 10, np.uint8)
    right = np.full((3, 48, 63, 3), 200, np.uint8)
    out = side_by_side(left, right)
    assert out.shape == (3, 48, 128, 3)  # 64 + 63, made even
    assert out[:, :, :64].max() == 10 and out[:, :, 64:127].min() == 200
