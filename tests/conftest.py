"""Shared fixtures: an in-process CLI runner, test images, and factories of tiny scenes and models (helpers.py)."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

import helpers

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_connect = socket.socket.connect


def _local_only(sock, address):
    """socket.connect that refuses anything but this machine: nothing in the suite may touch the network."""
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not (
        host == "localhost" or host.startswith("127.") or host in ("::1", "0.0.0.0")
    ):
        raise OSError(f"tests must not use the network (tried to connect to {host})")
    return _connect(sock, address)


socket.socket.connect = _local_only  # type: ignore[method-assign]


@pytest.fixture
def cli(capsys):
    """Run `shotsmith ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from shotsmith.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def textured_image():
    """A 96x128 RGB test image with texture everywhere (uint8)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    base = np.stack([x * 2, y * 2, (x + y)], axis=-1) % 256
    noise = rng.integers(0, 60, size=(96, 128, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def two_plane_scene():
    """Factory: make(frames=12, stripes=8.0, shift=0.5, pan_deg=8.0) -> helpers.Scene, the `inpaint` tests'
    two-plane scene (a 96x64 request with guidance, source view and ray-cast ground truth)."""
    return helpers.make_scene


@pytest.fixture(scope="session")
def tiny_video_components():
    """Factory: make(family, i2v, frames=9, height=32, width=64) -> dict of tiny seeded wan/cogvideox
    pipeline components (needs the neural extra)."""
    return helpers.video_components


@pytest.fixture(scope="session")
def tiny_video_generator():
    """Factory: make(family, i2v, frames=9, height=32, width=64, **options) -> a wan/cogvideox generator on
    CPU over tiny seeded components; options go to `from_components` (steps, tie_until, mode, ...)."""
    return helpers.video_generator


@pytest.fixture(scope="session")
def tiny_depth_anything():
    """Factory: make(folder, metric=False, processor=False) -> folder holding a tiny seeded Depth Anything V2."""
    return helpers.tiny_depth_anything


@pytest.fixture(scope="session")
def tiny_video_variant():
    """Factory: make(family, variant, frames=9, height=32, width=64, **options) -> a wan/cogvideox generator on CPU
    over tiny components shaped like one real checkpoint family (helpers.wan_variant_components,
    helpers.cogvideox_variant_components: "i2v-added-kv", "a14b", "ti2v"; "dpm", "1.5", "1.5-i2v")."""
    return helpers.variant_generator
