"""`shotsmith build-3d-cache`: lift the source image to a coloured point cloud (depth + intrinsics)."""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.cli import app
from shotsmith.console import info
from shotsmith.workspace import Workspace

_DEFAULT_MAX_PIXELS = (
    1_300_000  # = stages.build_cache.DEFAULT_MAX_PIXELS (kept literal: the CLI imports lightly)
)


@app.command("build-3d-cache")
def build_3d_cache(
    workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder."),
    image: Path | None = typer.Option(None, "--image", help="Source image (default: the workspace's own)."),
    depth: str = typer.Option(
        "auto",
        "--depth",
        help="auto, prior, depth-anything-v2, moge, or a depth file (.npy .npz 16-bit .png).",
    ),
    depth_kind: str = typer.Option(
        "depth", "--depth-kind", help="What a depth file holds: depth or disparity."
    ),
    model: str | None = typer.Option(
        None, "--model", "--model-dir", help="Hub id or local folder of the depth model's weights."
    ),
    fov: float | None = typer.Option(
        None,
        "--fov",
        help="Horizontal field of view in degrees (default: EXIF, the model's estimate, or 60).",
    ),
    max_pixels: int = typer.Option(
        _DEFAULT_MAX_PIXELS, "--max-pixels", help="Largest cache resolution (pixels)."
    ),
    filter_threshold: float = typer.Option(
        0.05, "--filter-threshold", help="Flying-pixel threshold: (max-min)/mean depth over 5x5; 0 = off."
    ),
    force: bool = typer.Option(False, "--force", help="Run even if nothing changed."),
) -> None:
    """Estimate depth, unproject the image to points in scene units (1.0 = subject distance), write cache/.

    Example: shotsmith build-3d-cache -w shots/x --image photo.jpg --depth prior
    """
    from shotsmith.stages.build_cache import CacheInfo, CacheOptions, build_cache

    opts = CacheOptions(
        image=str(image) if image is not None else None,
        depth=depth,
        depth_kind=depth_kind,  # type: ignore[arg-type] - validated by CacheOptions.validate
        model=model,
        fov=fov,
        max_pixels=max_pixels,
        filter_threshold=filter_threshold,
    )
    ws = Workspace(workspace)
    build_cache(ws, opts, force=force)
    cache = CacheInfo.read(ws)
    fx = cache.intrinsics[0]
    info(
        f"cache: {cache.num_points:,} points at {cache.width}x{cache.height}, fx {fx:.1f} px ({cache.fov_source}), "
        f"subject at {cache.subject_distance_backend_units:.3g} {cache.backend_units} -> {ws.path('cache')}"
    )
