"""Stage `evaluate`: measure the shot's camera against its plan; writes eval/metrics.json and the plot.

Reads output/shot.mp4 and trajectory.json (or any video and camera file, for `shotsmith evaluate VIDEO
--trajectory FILE`), fits the plan to the video (frame count by `camera.resample` with a note, or an error with
`strict`; size by rescaling the intrinsics), runs `shotsmith.evaluate.evaluate_video` (pycolmap poses, CamI2V
metrics, aligned errors, motion-tag F1) and, when weights are given, the CLIP measures of
`shotsmith.backends.clip`. metrics.json holds the numbers with the protocol, versions, per-trial results and
notes; the plot shows the planned and the Sim(3)-aligned estimated paths in three views. docs/EVALUATION.md
describes the protocol. `evaluate_files` is the workspace-free half that the standalone command also uses.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import __version__
from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.camera import CameraPath, resample
from shotsmith.console import console, note
from shotsmith.errors import InputError, ShotsmithError
from shotsmith.options import opt
from shotsmith.stage import Stage

NAME = "evaluate"
METRICS_SCHEMA = 1


@dataclass
class Config:
    """Options of `shotsmith evaluate`: in a workspace (-w), or on any VIDEO with --trajectory FILE."""

    video: str | None = opt(None, argument=True)
    """A video to measure (without -w)."""
    trajectory: str | None = None
    """The planned camera file (with VIDEO)."""
    output: str | None = opt(None, flags=("-o", "--output"))
    """Output folder (with VIDEO; default VIDEO_eval/)."""
    trials: int = 1
    """Mapper runs with different seeds; the summary gives the median and spread (CamI2V uses 5)."""
    strict: bool = False
    """Fail when the video and the trajectory have different frame counts instead of resampling the plan."""
    mapper: Literal["global", "incremental"] = "global"
    """"global" (GLOMAP in COLMAP 4, as CamI2V) or "incremental"."""
    max_image_size: int = 560
    """Longest side (pixels) at which SIFT runs; keypoints are rescaled to full size (-1 = full size)."""
    max_features: int = 4096
    """SIFT features per frame."""
    seed: int = 0
    """Seed of the first trial; trial k uses seed + k."""
    prompt: str | None = None
    """Text for the motion-tag F1 against the prompt and the CLIP text score (default: shot.json's prompt)."""
    clip_model: str = "ViT-B-32"
    """open-clip model name, or a model config .json."""
    clip_pretrained: str | None = opt(None, file=True)
    """CLIP weights: a local .safetensors file (or an open-clip tag already cached); none skips the CLIP
    measures."""
    device: str | None = None
    """Torch device of the neural models (depth, video, CLIP): auto (CUDA, else Apple MPS, else the CPU), cpu,
    cuda, cuda:N or mps."""

    def validate(self) -> None:
        from shotsmith.evaluate import MAPPERS

        if self.trials < 1:
            raise InputError(f"--trials {self.trials}: give at least 1 (CamI2V uses 5)")
        if self.mapper not in MAPPERS:
            raise InputError(f"--mapper {self.mapper!r}: choose one of {', '.join(MAPPERS)}")
        if self.max_features < 64:
            raise InputError(
                f"--max-features {self.max_features}: too few for SfM; give at least 64 (default 4096)"
            )
        if self.max_image_size != -1 and self.max_image_size < 64:
            raise InputError(f"--max-image-size {self.max_image_size}: give -1 (full size) or at least 64")

    def sfm_options(self):
        from shotsmith.evaluate import SfmOptions

        return SfmOptions(
            mapper=self.mapper,  # type: ignore[arg-type]
            max_image_size=self.max_image_size,
            max_num_features=self.max_features,
        )


@dataclass
class EvalOutput:
    """What `evaluate_files` produced, before it is written."""

    metrics: dict
    """The content of metrics.json."""
    plan: CameraPath
    """The plan as compared (fitted to the video)."""
    estimate: CameraPath | None = None
    """The representative trial's estimate, Sim(3)-aligned to the plan (registered frames only)."""
    reference: CameraPath | None = None
    """The plan over the same frames, relative to the first registered one."""
    notes: list[str] = field(default_factory=list)


def fit_plan(
    plan: CameraPath, num_frames: int, width: int, height: int, strict: bool
) -> tuple[CameraPath, list[str]]:
    """The plan at the video's frame count and size, with notes on what changed."""
    notes = []
    if len(plan) != num_frames:
        if strict:
            raise InputError(
                f"the trajectory has {len(plan)} frames and the video {num_frames}; drop --strict to resample "
                "the trajectory to the video, or give the matching files"
            )
        notes.append(f"trajectory resampled from {len(plan)} to {num_frames} frames to match the video")
        plan = resample(plan, num_frames)
    if (plan.width, plan.height) != (width, height):
        a_plan, a_video = plan.width / plan.height, width / height
        msg = (
            f"trajectory intrinsics rescaled from {plan.width}x{plan.height} to the video's {width}x{height}"
        )
        if abs(a_plan - a_video) > 0.01 * a_video:
            msg += f" (aspect ratios differ: {a_plan:.3f} vs {a_video:.3f}; the focal follows the width)"
        notes.append(msg)
        plan = plan.with_size(width, height)
    return plan, notes


def clip_measures(frames: np.ndarray, text: str, cfg: Config) -> dict:
    """CLIP text-frame score and frame consistency, or {"skipped": reason}."""
    if not cfg.clip_pretrained:
        return {"skipped": "no CLIP weights given (--clip-pretrained PATH.safetensors)"}
    from shotsmith.backends.clip import ClipBackend

    backend = ClipBackend(cfg.clip_model, cfg.clip_pretrained, device=cfg.device or "auto")
    try:
        backend.load()
    except ShotsmithError as exc:
        return {"skipped": str(exc)}
    out = {
        "model": cfg.clip_model,
        "weights": str(cfg.clip_pretrained),
        "frames_scored": int(min(len(frames), 16)),
        "clip_frame_consistency": backend.frame_consistency(frames),
        "clip_text_score": None,
    }
    if text.strip():
        out["clip_text_score"] = backend.text_frame_score(frames, text)
    else:
        out["clip_text_score_skipped"] = "no prompt (--prompt or shot.json's prompt)"
    return out


def _versions() -> dict:
    from shotsmith.evaluate import pycolmap_version

    out = {"shotsmith": __version__, "pycolmap": pycolmap_version(), "numpy": np.__version__}
    out["python"] = platform.python_version()
    try:
        import pycolmap

        out["colmap"] = str(getattr(pycolmap, "COLMAP_version", ""))
    except ImportError:
        pass
    return out


def evaluate_files(
    frames: np.ndarray, fps: float, plan: CameraPath, cfg: Config, text: str = ""
) -> EvalOutput:
    """Measure (T, H, W, 3) `frames` against `plan`; no files written."""
    from shotsmith.evaluate import estimate_path, evaluate_video, protocol

    cfg.validate()
    t, h, w = frames.shape[:3]
    plan, notes = fit_plan(plan, t, w, h, cfg.strict)
    for n in notes:
        note(n)
    report = evaluate_video(frames, plan, cfg.sfm_options(), trials=cfg.trials, text=text, seed=cfg.seed)
    notes += report.notes
    summary = report.summary
    headline = {k: summary[k]["median"] for k in summary}
    est = ref = None
    rep = report.representative
    if rep is not None:
        est, ref = estimate_path(plan, rep)
    rows = [r for r in report.trials if r["ok"]]
    models = sorted({r["model"] for r in rows})
    metrics = {
        "schema_version": METRICS_SCHEMA,
        "ok": report.ok_trials > 0,
        "frames": t,
        "frames_note": "rot_err, trans_err and cam_mc are SUMS over the compared (registered) frames, as CamI2V "
        "reports them (its numbers are over 16 frames); *_per_frame divide by the frames compared",
        "video": {"frames": t, "width": w, "height": h, "fps": fps},
        "metrics": headline,
        "model": models[0] if len(models) == 1 else ("mixed" if models else None),
        "model_reason": rep.model_reason if rep is not None else "",
        "translation_metrics": next(
            (r["translation_metrics"] for r in rows if r.get("translation_metrics")), "measured (sfm)"
        )
        if rows
        else None,
        "summary": summary,
        "trials": report.trials,
        "ok_trials": report.ok_trials,
        "clip": clip_measures(frames, text, cfg),
        "text": text,
        "timings": report.timings,
        "protocol": protocol(cfg.sfm_options(), cfg.trials),
        "options": asdict(cfg),
        "versions": _versions(),
        "notes": notes,
        "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return EvalOutput(metrics, plan, est, ref, notes)


def write_plot(out: EvalOutput, path: str | os.PathLike) -> None:
    """Planned and estimated (Sim(3)-aligned) paths in three views; the plan alone when every trial failed."""
    m = out.metrics["metrics"]
    if out.estimate is None:
        title = "planned path (no estimate: every SfM trial failed)"
    else:
        r = m.get("rot_err_per_frame")
        ate = m.get("ate")
        title = f"planned vs estimated: RotErr/frame {r:.4f} rad" + (
            "" if ate is None else f", ATE {ate:.3f}"
        )
        if out.metrics.get("model") not in (None, "sfm"):
            title += f" ({out.metrics['model']} model)"
    from shotsmith.plot import plot_trajectory

    if out.estimate is None:
        plot_trajectory(out.plan, path, title=title, label="planned")
    else:
        plot_trajectory(
            out.estimate,
            path,
            title=title,
            reference=out.reference,
            label="estimated",
            reference_label="planned",
        )


def write_outputs(out: EvalOutput, metrics_path: str | os.PathLike, plot_path: str | os.PathLike) -> None:
    """Write metrics.json and the plot to exactly these paths (callers own atomicity)."""
    import json

    Path(metrics_path).write_text(json.dumps(W.to_jsonable(out.metrics), indent=2) + "\n")
    write_plot(out, plot_path)


def print_summary(out: EvalOutput) -> None:
    m, n = out.metrics["metrics"], out.metrics["frames"]
    if not out.metrics["ok"]:
        note("no trial registered enough frames; see metrics.json's trials for the reasons")
        return

    def fmt(v, spec=".4f"):
        return "n/a" if v is None else format(v, spec)

    model = out.metrics.get("model") or "sfm"
    console.print(
        f"RotErr {fmt(m['rot_err'])} rad, TransErr {fmt(m['trans_err'])}, CamMC {fmt(m['cam_mc'])} "
        f"(sums over {n} frames); ATE {fmt(m['ate'])}, RPE {fmt(m['rpe_rot_deg'], '.3f')} deg; "
        f"registered {fmt(m['registered_fraction'], '.0%')}; F1 vs plan {fmt(m['motion_tag_f1_vs_plan'], '.2f')}; "
        f"model {model}",
        soft_wrap=True,
    )
    if model != "sfm":
        note(f"{model} model: {out.metrics.get('model_reason', '')}")
        note(f"translation measures: {out.metrics.get('translation_metrics')}")


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Evaluate the workspace's output/shot.mp4 against trajectory.json."""
    from shotsmith.media import read_video

    frames, fps = read_video(ws.path(W.OUTPUT_VIDEO))
    out = evaluate_files(frames, fps, A.read_trajectory(ws), cfg, A.user_prompt(ws, cfg.prompt))
    out.metrics["inputs"] = {"video": W.OUTPUT_VIDEO, "trajectory": W.TRAJECTORY}
    A.write_metrics(ws, out.metrics)
    with ws.atomic(W.EVAL_PLOT) as tmp:
        write_plot(out, tmp)
    print_summary(out)
    extra = {"ok": out.metrics["ok"], "metrics": out.metrics["metrics"], "notes": out.notes}
    return W.StageResult([W.EVAL_METRICS, W.EVAL_PLOT], out.metrics["versions"]["pycolmap"], extra)


def _requires(ws: W.Workspace, cfg: Config) -> list[str]:
    if cfg.video is not None or cfg.trajectory is not None or cfg.output is not None:
        raise InputError("give either -w WORKSPACE or VIDEO --trajectory FILE [-o OUT_DIR], not both")
    return [W.OUTPUT_VIDEO, W.TRAJECTORY]


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=lambda ws, cfg: [W.OUTPUT_VIDEO, W.TRAJECTORY],
    requires=_requires,
    writes=(W.EVAL_METRICS, W.EVAL_PLOT),
    summary="Measure a shot's camera against its plan: CamI2V's RotErr/TransErr/CamMC, ATE/RPE, motion-tag F1.",
    examples=(
        "shotsmith evaluate -w shots/demo --trials 5",
        "shotsmith evaluate clip.mp4 --trajectory cams.txt -o clip_eval --strict",
    ),
    backend=lambda cfg: (f"pycolmap-{cfg.mapper}", ""),
    options=lambda ws, cfg: dict(asdict(cfg), prompt=A.user_prompt(ws, cfg.prompt)),
)


def run_standalone(cfg: Config) -> Path:
    """`shotsmith evaluate VIDEO --trajectory FILE -o OUT_DIR`: the same measurement without a workspace;
    returns the output folder."""
    from shotsmith.formats import read_camera_file
    from shotsmith.media import read_video

    cfg.validate()
    if cfg.video is None or cfg.trajectory is None:
        raise InputError("give -w WORKSPACE, or a VIDEO with --trajectory FILE (the planned camera path)")
    video, trajectory = Path(cfg.video), Path(cfg.trajectory)
    out_dir = Path(cfg.output) if cfg.output is not None else video.with_name(f"{video.stem}_eval")
    plan = read_camera_file(trajectory)
    frames, fps = read_video(video)
    out = evaluate_files(frames, fps, plan, cfg, cfg.prompt or "")
    out.metrics["inputs"] = {"video": str(video), "trajectory": str(trajectory)}
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"-o {out_dir}: exists and is not a folder; choose another output folder")
    with (
        W.atomic_path(out_dir / Path(W.EVAL_METRICS).name, InputError) as tmp_m,
        W.atomic_path(out_dir / Path(W.EVAL_PLOT).name, InputError) as tmp_p,
    ):
        write_outputs(out, tmp_m, tmp_p)
    print_summary(out)
    return out_dir
