"""Stage `caption`: caption.json, the text a generator receives, in GenDoP's vocabulary.

caption.json = {"prompt": the user's words, "movement" and "Movement": `shotsmith.describe.describe` of
trajectory.json (GenDoP's motion caption key is "Movement"; empty with a note when there is no trajectory yet),
"scene": CLIP zero-shot tags over `backends.clip.SCENE_VOCABULARY` when open-clip weights are given (else ""),
"scene_tags": the tags with their probabilities, "text": prompt, movement and scene combined, "notes"}.
The scene is read from the input image (shot.json's request "image") or from the middle frame of a recaptured
video (request "video"). This module reads the workspace and calls the domain and backend; no logic of its own
beyond combining the text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith import workspace as W
from shotsmith.console import info, note
from shotsmith.errors import BackendUnavailable, InputError, WorkspaceError

STAGE = "caption"
SceneMode = Literal["auto", "clip", "none"]
SCENE_MODES: tuple[str, ...] = ("auto", "clip", "none")


@dataclass
class CaptionConfig:
    """Options of `shotsmith caption`."""

    prompt: str | None = None
    """The user's words; None = shot.json's request "prompt"."""
    scene: str = "auto"
    """"clip": CLIP scene tags (fails without weights); "auto": CLIP when weights are given, else none; "none"."""
    clip_model: str = "ViT-B-32"
    """open-clip model name or model config .json."""
    clip_pretrained: str | None = None
    """Local .safetensors weights (or an open-clip tag already cached)."""
    top_k: int = 3
    """Scene tags kept."""

    def validate(self) -> None:
        if self.scene not in SCENE_MODES:
            raise InputError(f"--scene {self.scene!r}: choose one of {', '.join(SCENE_MODES)}")
        if self.top_k < 1:
            raise InputError(f"--top-k {self.top_k}: give at least 1")


@dataclass
class Caption:
    """The content of caption.json."""

    prompt: str = ""
    movement: str = ""
    scene: str = ""
    text: str = ""
    scene_tags: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d["Movement"] = self.movement
        return d


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


def resolve_input_path(ws: W.Workspace, name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else ws.path(name)


def scene_image(ws: W.Workspace) -> tuple[np.ndarray, str]:
    """The picture the scene is read from: the input image, or the middle frame of the source video."""
    from shotsmith.media import read_image, read_video

    request = ws.manifest()["request"]
    if request.get("image"):
        path = resolve_input_path(ws, request["image"])
        return read_image(path), str(request["image"])
    if request.get("video"):
        path = resolve_input_path(ws, request["video"])
        frames, _ = read_video(path)
        mid = len(frames) // 2
        return frames[mid], f"{request['video']} (frame {mid})"
    raise WorkspaceError(
        f"{ws.root}: shot.json names no input image or video to read the scene from; "
        "start the shot with `shotsmith run ... --image IMG` or use --scene none"
    )


def make_caption(ws: W.Workspace, cfg: CaptionConfig) -> tuple[Caption, str]:
    """caption.json's content and the scene backend used ("none" or "open-clip")."""
    cap = Caption()
    request = ws.manifest()["request"]
    cap.prompt = (cfg.prompt if cfg.prompt is not None else str(request.get("prompt") or "")).strip()
    if ws.exists(W.TRAJECTORY):
        from shotsmith.describe import describe
        from shotsmith.formats import read_trajectory

        cap.movement = describe(read_trajectory(ws.path(W.TRAJECTORY)))
    else:
        cap.notes.append("no trajectory.json yet: movement left empty; run `shotsmith plan-trajectory` first")
    backend = "none"
    use_clip = cfg.scene == "clip" or (cfg.scene == "auto" and cfg.clip_pretrained)
    if cfg.scene == "auto" and not cfg.clip_pretrained:
        cap.notes.append("scene: no CLIP weights given (--clip-pretrained), no scene tags")
    if use_clip:
        from shotsmith.backends.clip import ClipBackend, scene_text

        clip = ClipBackend(cfg.clip_model, cfg.clip_pretrained)
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


def _inputs(ws: W.Workspace) -> list[str]:
    names = [W.TRAJECTORY]
    request = ws.manifest()["request"]
    for key in ("image", "video"):
        name = request.get(key)
        if name and not Path(name).is_absolute():
            names.append(str(name))
    return names


def run(ws: W.Workspace, cfg: CaptionConfig, *, force: bool = False) -> W.StageRecord:
    """Write caption.json; skipped when nothing changed."""
    cfg.validate()
    prompt = cfg.prompt if cfg.prompt is not None else str(ws.manifest()["request"].get("prompt") or "")
    external = (
        {"clip_pretrained": cfg.clip_pretrained}
        if cfg.clip_pretrained and Path(cfg.clip_pretrained).is_file()
        else None
    )

    def stage() -> W.StageResult:
        cap, backend = make_caption(ws, cfg)
        ws.write_json(W.CAPTION, cap.to_json())
        for n in cap.notes:
            note(n)
        info(f"caption: {cap.text}")
        version = ""
        if backend == "open-clip":
            from shotsmith.backends.clip import ClipBackend

            version = ClipBackend().version()
        return W.StageResult([W.CAPTION], version, {"scene_backend": backend, "notes": cap.notes})

    backend = (
        "open-clip" if (cfg.scene == "clip" or (cfg.scene == "auto" and cfg.clip_pretrained)) else "embedded"
    )
    return W.run_stage(
        ws,
        STAGE,
        stage,
        options=dict(asdict(cfg), prompt=prompt),
        inputs=_inputs(ws),
        external=external,
        backend=backend,
        force=force,
    )
