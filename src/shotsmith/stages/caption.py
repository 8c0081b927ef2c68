"""Stage `caption`: caption.json, the text a generator receives, in GenDoP's vocabulary.

caption.json (`artifacts.Caption`) = {"prompt": the user's words, "movement" and "Movement": `describe.describe`
of trajectory.json (GenDoP's motion caption key is "Movement"; empty with a note when there is no trajectory
yet), "scene": CLIP zero-shot tags over `backends.clip.SCENE_VOCABULARY` when open-clip weights are given (else
""), "scene_tags": the tags with their probabilities, "text": prompt, movement and scene combined, "notes"}.
The scene is read from the input image (shot.json's request "image") or from the middle frame of a video
(request "video"). This module reads the workspace and calls the domain and backend; no logic of its own
beyond combining the text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import artifacts as A
from shotsmith import workspace as W
from shotsmith.console import info, note
from shotsmith.errors import BackendUnavailable, InputError, WorkspaceError
from shotsmith.options import opt
from shotsmith.stage import Stage

NAME = "caption"
SCENE_MODES: tuple[str, ...] = ("auto", "clip", "none")


@dataclass
class Config:
    """Options of `shotsmith caption`."""

    prompt: str | None = None
    """The user's words (default: shot.json's prompt)."""
    scene: Literal["auto", "clip", "none"] = "auto"
    """Scene tags: clip (CLIP, fails without weights), auto (CLIP when weights are given, else none), or none."""
    clip_model: str = "ViT-B-32"
    """open-clip model name, or a model config .json."""
    clip_pretrained: str | None = opt(None, file=True)
    """CLIP weights: a local .safetensors file (or an open-clip tag already cached)."""
    device: str | None = None
    """Torch device of the neural models (depth, video, CLIP): auto (CUDA, else Apple MPS, else the CPU), cpu,
    cuda, cuda:N or mps."""
    top_k: int = 3
    """Scene tags kept."""

    def validate(self) -> None:
        if self.scene not in SCENE_MODES:
            raise InputError(f"--scene {self.scene!r}: choose one of {', '.join(SCENE_MODES)}")
        if self.top_k < 1:
            raise InputError(f"--top-k {self.top_k}: give at least 1")

    @property
    def uses_clip(self) -> bool:
        return self.scene == "clip" or (self.scene == "auto" and bool(self.clip_pretrained))


def _sentence(s: str) -> str:
    s = " ".join(s.split())
    if not s:
        return ""
    s = s[0].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def combine_text(prompt: str, movement: str, scene: str) -> str:
    """The generator's text: the prompt, then the camera movement, then the scene tags ("Scene: ...")."""
    parts = [_sentence(prompt), _sentence(movement)]
    if scene:
        parts.append(_sentence(f"scene: {scene}"))
    return " ".join(p for p in parts if p)


def scene_image(ws: W.Workspace) -> tuple[np.ndarray, str]:
    """The picture the scene is read from: the input image, or the middle frame of the source video."""
    from shotsmith.media import read_image, read_video

    request = A.request(ws)
    if request.get("image"):
        return read_image(A.input_path(ws, request["image"])), str(request["image"])
    if request.get("video"):
        frames, _ = read_video(A.input_path(ws, request["video"]))
        mid = len(frames) // 2
        return frames[mid], f"{request['video']} (frame {mid})"
    raise WorkspaceError(
        f"{ws.root}: shot.json names no input image or video to read the scene from; "
        "start the shot with `shotsmith run ... --image IMG` or use --scene none"
    )


def make_caption(ws: W.Workspace, cfg: Config) -> tuple[A.Caption, str]:
    """caption.json's content and the scene backend used ("none" or "open-clip")."""
    cap = A.Caption()
    cap.prompt = _prompt(ws, cfg)
    if ws.exists(W.TRAJECTORY):
        from shotsmith.describe import describe

        cap.movement = describe(A.read_trajectory(ws))
    else:
        cap.notes.append("no trajectory.json yet: movement left empty; run `shotsmith plan-trajectory` first")
    backend = "none"
    if cfg.scene == "auto" and not cfg.clip_pretrained:
        cap.notes.append("scene: no CLIP weights given (--clip-pretrained), no scene tags")
    if cfg.uses_clip:
        from shotsmith.backends.clip import ClipBackend, scene_text

        clip = ClipBackend(cfg.clip_model, cfg.clip_pretrained, device=cfg.device or "auto")
        try:
            clip.load()
        except BackendUnavailable as exc:
            if cfg.scene == "clip":
                raise
            cap.notes.append(f"scene skipped: {exc}")
        else:
            image, source = scene_image(ws)
            tags = clip.scene_tags(image, top_k=cfg.top_k)
            cap.scene = scene_text(tags)
            cap.scene_tags = [
                {"tag": t.tag, "probability": round(t.probability, 4), "source": source} for t in tags
            ]
            backend = "open-clip"
    cap.text = combine_text(cap.prompt, cap.movement, cap.scene)
    if not cap.text:
        cap.notes.append("empty text: give --prompt, plan a trajectory, or enable --scene clip")
    return cap, backend


def _prompt(ws: W.Workspace, cfg: Config) -> str:
    """--prompt, else shot.json's prompt."""
    return (cfg.prompt if cfg.prompt is not None else str(A.request(ws).get("prompt") or "")).strip()


def _reads(ws: W.Workspace, cfg: Config) -> list[str]:
    names = [W.TRAJECTORY]
    request = A.request(ws)
    for key in ("image", "video"):
        name = request.get(key)
        if name and not Path(name).is_absolute():
            names.append(str(name))
    return names


def run(ws: W.Workspace, cfg: Config) -> W.StageResult:
    """Write caption.json."""
    cap, backend = make_caption(ws, cfg)
    A.write_caption(ws, cap)
    for n in cap.notes:
        note(n)
    info(f"caption: {cap.text}")
    version = ""
    if backend == "open-clip":
        from shotsmith.backends.clip import ClipBackend

        version = ClipBackend().version()
    return W.StageResult([W.CAPTION], version, {"scene_backend": backend, "notes": cap.notes})


STAGE = Stage(
    name=NAME,
    config=Config,
    run=run,
    reads=_reads,
    requires=lambda ws, cfg: [],
    writes=(W.CAPTION,),
    summary='Write caption.json: the prompt, the GenDoP "Movement" of trajectory.json, CLIP scene tags, the text.',
    examples=(
        'shotsmith caption -w shots/demo --prompt "an astronaut portrait"',
        "shotsmith caption -w shots/demo --scene clip --clip-pretrained ViT-B-32.safetensors",
    ),
    backend=lambda cfg: ("open-clip" if cfg.uses_clip else "embedded", ""),
    options=lambda ws, cfg: dict(asdict(cfg), prompt=_prompt(ws, cfg)),
)
