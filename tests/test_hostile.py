"""Hostile inputs are refused before anything is allocated, in one line that says why."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from shotsmith.errors import InputError
from shotsmith.media import check_image_size, read_image


def _png_header(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height pixels, with (almost) no pixel data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) +
                     chunk(b"IEND", b""))  # fmt: skip


def test_an_image_claiming_60000_squared_pixels_is_refused_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_header(bomb, 60000, 60000)
    with pytest.raises(InputError) as exc:
        read_image(bomb)
    msg = str(exc.value)
    assert "60000x60000" in msg and "3600 MP" in msg and "10.8 GB" in msg and "\n" not in msg


def test_the_limit_itself():
    check_image_size("ok.png", 16000, 12000)  # 192 MP: a very large photo still reads
    with pytest.raises(InputError, match="downscale it first"):
        check_image_size("big.png", 20000, 12000)


def test_run_refuses_the_bomb_and_writes_nothing(cli, tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_header(bomb, 60000, 60000)
    code, _out, err = cli("run", "x", "--image", bomb, "--cam", "dolly_in", "-w", tmp_path / "ws")
    assert code == 1 and "60000x60000" in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()


def test_a_numpy_file_claiming_a_huge_array_is_refused_before_loading(tmp_path):
    """A .npy header claiming 100000 x 100000 float32 (40 GB) and an .npz whose member claims as much: refused
    from the header, never allocated."""
    import zipfile

    import numpy as np

    from shotsmith.backends.depth.file import read_depth_file

    npy = tmp_path / "depth.npy"
    with open(npy, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)}
        )
    with pytest.raises(InputError, match=r"40\.0 GB of arrays") as exc:
        read_depth_file(npy)
    assert "\n" not in str(exc.value)
    npz = tmp_path / "depth.npz"
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("depth.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (40000, 40000)}
            )
            for _ in range(64):  # 67 MB of zeros deflate to 65 kB: a zip bomb, at a test's scale
                f.write(bytes(1 << 20))
    assert npz.stat().st_size < 1_000_000
    from shotsmith.errors import check_numpy_file

    with pytest.raises(InputError, match="GB of arrays"):
        check_numpy_file(npz, limit=10_000_000)  # the default limit is 4 GB: the same rule, scaled down


def test_absurd_frame_counts_and_sizes_are_refused_before_allocating(cli, tmp_path):
    """Found by the jobs-file fuzzer: a 40-digit frame count reached numpy (ValueError: Maximum allowed size
    exceeded) in `batch` and `run`, and `recapture --frames 999999999999` tried to allocate 8 PiB."""
    import json

    from shotsmith.batch import JobsFileError, load_jobs
    from shotsmith.media import write_image
    from shotsmith.video import DecodeOptions

    photo = tmp_path / "p.png"
    write_image(photo, np.zeros((48, 64, 3), np.uint8))
    jobs = tmp_path / "jobs.jsonl"
    job = {"name": "a", "prompt": "x", "image": str(photo), "cam": "dolly_in", "frames": int("9" * 40)}
    jobs.write_text(json.dumps(job) + "\n")
    with pytest.raises(JobsFileError) as exc:
        load_jobs(jobs, check_backends=False)
    assert len(exc.value.problems) == 1 and "GB of memory" in exc.value.problems[0]
    code, _out, err = cli("run", "x", "--image", photo, "--cam", "dolly_in", "-w", tmp_path / "ws",
                          "--size", "64000x48000")  # fmt: skip
    assert code == 1 and "746 GB of memory" in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()
    with pytest.raises(InputError, match=r"9\.22e\+06 GB"):
        DecodeOptions(frames=999999999999, width=64, height=48).validate()
    code, _out, err = cli("plan-trajectory", "-w", tmp_path / "ws", "--cam", "dolly_in", "--duration", "1e9")
    assert code == 1 and "a shot of 16000000000 frames at 832x480" in err and "Traceback" not in err
