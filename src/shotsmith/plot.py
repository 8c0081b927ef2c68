"""Trajectory plots: a PNG with three orthographic views of a camera path (front, top, side).

Camera centres are drawn with a red-to-purple time gradient (as GenDoP draws its trajectories) and a frustum
every few frames, built from the path's intrinsics, so a pure pan shows turning frustums and a zoom narrowing
ones. Axes are in the path's units with shotsmith's axes (docs/CONVENTIONS.md): x right, y down (plotted as
"up = -y"), z forward. An optional reference path is overlaid in grey (evaluate: planned vs estimated).
This module only draws; it knows nothing of workspaces. matplotlib is imported inside the function and drawn
through its Agg canvas, never through pyplot, so no global backend state is touched. `PlotInBackground` draws in
a forked child that imports matplotlib (a quarter of a second) while the caller still computes the path
(`shotsmith plan`'s cold start).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath

#: GenDoP's time gradient: first frame red, last frame purple.
GRADIENT = ("#e6194b", "#7b2cbf")
#: Views: (title, horizontal axis, vertical axis); index 3 means "-y" (up).
_VIEWS = (
    ("front (looking forward)", 0, 3, "x (right)", "-y (up)"),
    ("top (from above)", 0, 2, "x (right)", "z (forward)"),
    ("side (from the right)", 2, 3, "z (forward)", "-y (up)"),
)


def frustum_lines(cam: CameraPath, indices: np.ndarray, size: float) -> np.ndarray:
    """(len(indices), 8, 2, 3) world-space segments of camera frustums `size` deep: 4 edges from the centre to
    the image corners and the 4 sides of the image rectangle."""
    w, h = cam.width, cam.height
    corners_px = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    out = np.zeros((len(indices), 8, 2, 3))
    for k, i in enumerate(indices):
        fx, fy, cx, cy = cam.intrinsics[i]
        local = np.column_stack(
            [(corners_px[:, 0] - cx) / fx * size, (corners_px[:, 1] - cy) / fy * size, np.full(4, size)]
        )
        m = cam.world_from_camera[i]
        world = local @ m[:3, :3].T + m[:3, 3]
        centre = m[:3, 3]
        for j in range(4):
            out[k, j] = (centre, world[j])
            out[k, 4 + j] = (world[j], world[(j + 1) % 4])
    return out


def _coords(points: np.ndarray, axis: int) -> np.ndarray:
    return -points[..., 1] if axis == 3 else points[..., axis]


def _frustum_size(paths: list[CameraPath]) -> float:
    centres = np.concatenate([p.centers for p in paths])
    extent = float(np.ptp(centres, axis=0).max()) if len(centres) > 1 else 0.0
    # Relative to the path, with a visible minimum so a pure pan or zoom still shows its frustums.
    return max(0.18 * extent, 0.12 * max(extent, 1.0) if extent > 0 else 0.25)


def plot_trajectory(
    cam: CameraPath,
    path: str | os.PathLike,
    title: str | None = None,
    reference: CameraPath | None = None,
    *,
    label: str = "camera",
    reference_label: str = "reference",
    subject: bool | None = None,
) -> Path:
    """Write a PNG of `cam` (front, top and side views) to `path` and return the path.

    `reference`: another path drawn in grey under `cam` (e.g. planned vs estimated). `subject`: mark the
    subject at (0, 0, 1); by default when the path is in scene units. Takes well under a second for 81 frames.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure

    path = Path(path)
    n = len(cam)
    units = str(cam.meta.get("units", "scene"))
    if subject is None:
        subject = units == "scene"
    cmap = LinearSegmentedColormap.from_list("shotsmith_time", GRADIENT)
    times = np.arange(n) / cam.fps
    norm = Normalize(0.0, max(times[-1], 1e-9))
    colours = cmap(norm(times))
    centres = cam.centers
    step = max(1, int(round((n - 1) / 8))) if n > 1 else 1
    shown = np.unique(np.append(np.arange(0, n, step), n - 1))
    size = _frustum_size([cam] + ([reference] if reference is not None else []))
    frusta = frustum_lines(cam, shown, size)
    ref_frusta = None
    if reference is not None:
        ref_shown = np.unique(
            np.append(np.arange(0, len(reference), max(1, len(reference) // 8)), len(reference) - 1)
        )
        ref_frusta = frustum_lines(reference, ref_shown, size)

    fig = Figure(figsize=(13.5, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.055, right=0.93, bottom=0.12, top=0.88, wspace=0.28)
    for ax, (view_title, hx, vy, hlabel, vlabel) in zip(axes, _VIEWS, strict=True):
        if reference is not None:
            rc = reference.centers
            ax.plot(_coords(rc, hx), _coords(rc, vy), color="0.55", lw=1.5, ls="--", label=reference_label)
            segs = np.stack([_coords(ref_frusta, hx), _coords(ref_frusta, vy)], axis=-1).reshape(-1, 2, 2)
            ax.add_collection(LineCollection(segs, colors="0.7", linewidths=0.7))
        if n > 1:
            pts = np.column_stack([_coords(centres, hx), _coords(centres, vy)])
            line = LineCollection(np.stack([pts[:-1], pts[1:]], axis=1), colors=colours[:-1], linewidths=2.2)
            ax.add_collection(line)
        segs = np.stack([_coords(frusta, hx), _coords(frusta, vy)], axis=-1)  # (k, 8, 2, 2)
        seg_colours = np.repeat(colours[shown], 8, axis=0)
        ax.add_collection(LineCollection(segs.reshape(-1, 2, 2), colors=seg_colours, linewidths=0.9))
        ax.scatter(_coords(centres[shown], hx), _coords(centres[shown], vy), c=colours[shown], s=14, zorder=3)
        ax.scatter(
            [_coords(centres[0], hx)],
            [_coords(centres[0], vy)],
            marker="o",
            s=55,
            facecolors="none",
            edgecolors=GRADIENT[0],
            zorder=4,
            label=f"{label}: start",
        )
        if subject:
            ax.scatter(
                [_coords(np.array([0.0, 0.0, 1.0]), hx)],
                [_coords(np.array([0.0, 0.0, 1.0]), vy)],
                marker="*",
                s=90,
                color="0.25",
                zorder=4,
                label="subject (1.0 ahead)",
            )
        # a fixed title height: matplotlib otherwise measures every tick label to place it (~20 % of the plot)
        ax.set_title(view_title, fontsize=10, y=1.0, pad=6.0)
        ax.locator_params(nbins=5)  # ticks are the costliest artists; 5 per axis read as well as 7-9
        ax.set_xlabel(f"{hlabel} [{units}]")
        ax.set_ylabel(f"{vlabel} [{units}]")
        ax.set_aspect("equal", adjustable="datalim")
        ax.autoscale_view()
        ax.margins(0.08)
        ax.grid(True, lw=0.4, alpha=0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=8, loc="best")
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, cax=fig.add_axes((0.945, 0.12, 0.012, 0.76)), label="time [s]")
    summary = f"{n} frames, {cam.fps:g} fps, {cam.duration:.2f} s, {cam.width}x{cam.height}"
    source = cam.meta.get("preset") or cam.meta.get("text") or cam.meta.get("source")
    heading = title or (f"{source}" if source else "camera path")
    fig.suptitle(f"{heading}    ({summary})", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", pil_kwargs={"compress_level": 1})  # fast zlib: a 50-150 kB PNG
    return path


def _import_matplotlib() -> None:
    """The imports `plot_trajectory` does (most of its first call's time)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.collections  # noqa: F401
    import matplotlib.figure  # noqa: F401


class PlotInBackground:
    """`plot_trajectory` in a forked child process that starts importing matplotlib at once.

    Use as a context manager around the work that makes the path; `draw(cam, path, ...)` hands the path to the
    child (over a pipe, as an .npz without pickles: `_job_bytes`), `wait()` returns once the PNG is written.
    The PNG is the same as `plot_trajectory`'s: where fork is missing (Windows) or the child fails, `wait` draws
    it in this process (so a real error, e.g. an unwritable folder, is raised here). Leaving the block without
    `draw` ends the child without drawing.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._fd: int | None = None
        self._job: tuple | None = None

    def __enter__(self) -> PlotInBackground:
        if hasattr(os, "fork"):
            read_fd, write_fd = os.pipe()
            with (
                warnings.catch_warnings()
            ):  # 3.12+ warns on fork with threads; the child only imports and draws
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(write_fd)
                _child(read_fd)
            os.close(read_fd)
            self._pid, self._fd = pid, write_fd
        return self

    def draw(self, cam: CameraPath, path: str | os.PathLike, **kwargs) -> None:
        """Start drawing `plot_trajectory(cam, path, **kwargs)`; `wait` for it."""
        self._job = (cam, Path(path), kwargs)
        if self._fd is not None:
            payload = _job_bytes(
                cam, Path(path), kwargs
            )  # None (options that are not plain data): drawn here
            with os.fdopen(self._fd, "wb") as pipe:
                self._fd = None
                try:
                    pipe.write(payload or b"")
                except OSError:  # the child is gone; `wait` draws here
                    pass

    def wait(self) -> Path:
        """The PNG's path once it is written (drawn here when no child drew it)."""
        if self._job is None:
            raise RuntimeError("PlotInBackground.wait before draw")
        cam, path, kwargs = self._job
        if self._reap() == 0 and path.exists():
            return path
        return plot_trajectory(cam, path, **kwargs)

    def _reap(self) -> int | None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is None:
            return None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return os.waitstatus_to_exitcode(status)

    def __exit__(self, *exc) -> None:
        self._reap()


def _job_bytes(cam: CameraPath, path: Path, kwargs: dict) -> bytes | None:
    """A drawing job as .npz bytes (the path's arrays + a JSON header), or None when `kwargs` are not plain data."""
    import io
    import json

    try:
        header = json.dumps(
            {
                "path": str(path),
                "kwargs": kwargs,
                "size": [cam.width, cam.height],
                "fps": cam.fps,
                "meta": cam.meta,
            }
        )
    except (TypeError, ValueError):
        return None
    buf = io.BytesIO()
    np.savez(
        buf,
        world_from_camera=np.asarray(cam.world_from_camera, np.float64),
        intrinsics=np.asarray(cam.intrinsics, np.float64),
        header=np.frombuffer(header.encode(), np.uint8),
    )
    return buf.getvalue()


def _job_from_bytes(payload: bytes) -> tuple[CameraPath, Path, dict]:
    """`_job_bytes`'s (cam, path, kwargs) back (no pickles)."""
    import io
    import json

    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        header = json.loads(z["header"].tobytes().decode())
        wfc, intr = z["world_from_camera"], z["intrinsics"]
    w, h = header["size"]
    cam = CameraPath(wfc, intr, int(w), int(h), float(header["fps"]), header["meta"])
    return cam, Path(header["path"]), header["kwargs"]


def _child(read_fd: int) -> None:
    """The forked child of `PlotInBackground`: import matplotlib, read the job, draw, exit (never returns)."""
    code = 1
    try:
        _import_matplotlib()
        with os.fdopen(read_fd, "rb") as pipe:
            payload = pipe.read()
        if payload:
            plot_trajectory(*_job_from_bytes(payload))
        code = 0
    except BaseException:  # noqa: BLE001 - the parent draws again and reports the error itself
        code = 1
    finally:
        os._exit(code)
