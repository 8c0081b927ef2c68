"""Shared fixtures: an in-process CLI runner and tiny workspaces."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
