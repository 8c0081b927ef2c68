"""The models shotsmith knows, where they are on this machine, and getting them (`shotsmith models`).

A `KnownModel` names a checkpoint a backend can load (hub id, task, backend, approximate download size,
licence). `local_path` finds one in the Hugging Face cache (or `HF_HOME` / `--cache-dir`) without touching the
network; `pull` downloads its safetensors and configs only (resumable: the hub client keeps partial files), with a
progress bar, and answers one line when the hub cannot be reached. Video models are only ever fetched by an
explicit `shotsmith models pull`. The hub client is passed in (`download=`), so tests use a stub and never the
network. Sizes are the published files' approximate totals (safetensors + configs), for planning disk space.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shotsmith.errors import BackendUnavailable, InputError

Task = Literal["depth", "video", "clip"]

#: What `pull` downloads: weights as safetensors, configs, tokenizer and scheduler files; never pickles.
ALLOW_PATTERNS = ("*.safetensors", "*.json", "*.txt", "*.model", "*.tiktoken", "spiece.model")


@dataclass(frozen=True)
class KnownModel:
    """One checkpoint a shotsmith backend loads."""

    name: str
    """Short name for `shotsmith models pull NAME`."""
    hub_id: str
    """Hugging Face repository id."""
    task: Task
    """depth, video (generator) or clip (scene tags and scores)."""
    backend: str
    """The backend that loads it (`--depth`, `--generator`, or clip)."""
    size_gb: float
    """Approximate download size in GB (safetensors + configs)."""
    licence: str
    """The checkpoint's licence as its model card states it."""
    note: str = ""
    """What it is for, in a few words."""


KNOWN: tuple[KnownModel, ...] = (
    KnownModel(
        "depth-anything-v2-small", "depth-anything/Depth-Anything-V2-Small-hf", "depth", "depth-anything-v2",
        0.1, "Apache-2.0", "relative depth; runs on a CPU in about a second",
    ),
    KnownModel(
        "depth-anything-v2-base", "depth-anything/Depth-Anything-V2-Base-hf", "depth", "depth-anything-v2",
        0.4, "CC-BY-NC-4.0", "relative depth",
    ),
    KnownModel(
        "depth-anything-v2-large", "depth-anything/Depth-Anything-V2-Large-hf", "depth", "depth-anything-v2",
        1.3, "CC-BY-NC-4.0", "relative depth",
    ),
    KnownModel(
        "depth-anything-v2-metric-indoor-small", "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf",
        "depth", "depth-anything-v2", 0.1, "Apache-2.0", "metric depth (metres), indoor scenes",
    ),
    KnownModel(
        "depth-anything-v2-metric-outdoor-small", "depth-anything/Depth-Anything-V2-Metric-Outdoor-Small-hf",
        "depth", "depth-anything-v2", 0.1, "Apache-2.0", "metric depth (metres), outdoor scenes",
    ),
    KnownModel(
        "moge-2-vits", "Ruicheng/moge-2-vits-normal", "depth", "moge", 0.15, "see the card",
        "metric geometry and intrinsics",
    ),
    KnownModel(
        "moge-2-vitl", "Ruicheng/moge-2-vitl-normal", "depth", "moge", 1.3, "see the card",
        "metric geometry and intrinsics",
    ),
    KnownModel(
        "wan2.1-t2v-1.3b", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "video", "wan", 29.0, "Apache-2.0",
        "text/video-to-video, 832x480, 81 frames (GPU)",
    ),
    KnownModel(
        "wan2.1-i2v-14b-480p", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "video", "wan", 82.0, "Apache-2.0",
        "image-to-video, 832x480 (GPU)",
    ),
    KnownModel(
        "wan2.2-ti2v-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "video", "wan", 34.0, "Apache-2.0",
        "text/image-to-video, 1280x704 (GPU)",
    ),
    KnownModel(
        "wan2.2-i2v-a14b", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "video", "wan", 126.0, "Apache-2.0",
        "image-to-video, two experts (GPU)",
    ),
    KnownModel(
        "cogvideox-5b-i2v", "zai-org/CogVideoX-5b-I2V", "video", "cogvideox", 21.0, "CogVideoX licence",
        "image-to-video, 720x480, 49 frames (GPU)",
    ),
    KnownModel(
        "clip-vit-b-32", "timm/vit_base_patch32_clip_224.openai", "clip", "clip", 0.6, "MIT",
        "OpenAI CLIP ViT-B-32 (QuickGELU) for scene tags and scores",
    ),
)  # fmt: skip


def find(name: str) -> KnownModel:
    """The known model of a short name or hub id (case-insensitive); InputError with the closest names."""
    key = str(name).strip().lower()
    for m in KNOWN:
        if key in (m.name, m.hub_id.lower()):
            return m
    if "/" in key:  # any other hub id: a model shotsmith does not list, fetched the same way
        return KnownModel(
            key.split("/")[-1], str(name).strip(), "video", "unknown", 0.0, "see its model card"
        )
    close = difflib.get_close_matches(key, [m.name for m in KNOWN], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `shotsmith models` lists them"
    raise InputError(f"model {name!r}: not a model shotsmith knows (a name or an org/name hub id){hint}")


def offline() -> bool:
    """Whether the hub must not be contacted (HF_HUB_OFFLINE or SHOTSMITH_OFFLINE set to a true value)."""
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "SHOTSMITH_OFFLINE")
    )


def local_path(model: KnownModel, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder of `model` in the hub cache when its files are on this machine, else None (no network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = snapshot_download(
            model.hub_id, cache_dir=cache_dir, local_files_only=True, allow_patterns=list(ALLOW_PATTERNS)
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None
    folder = Path(path)
    if not any(folder.glob("*.json")) and not any(folder.glob("*/*.json")):
        return None
    return folder


def pull(
    model: KnownModel,
    cache_dir: str | os.PathLike | None = None,
    download: Callable[..., str] | None = None,
) -> Path:
    """Download `model`'s safetensors and configs into the hub cache (resumable) and return its folder.
    `download` is the hub client (default `huggingface_hub.snapshot_download`; tests pass a stub)."""
    if offline():
        raise BackendUnavailable(
            f"models pull {model.name}: offline (HF_HUB_OFFLINE is set); unset it on a machine with network, or "
            f"copy the folder of {model.hub_id} here and pass it with --model"
        )
    if download is None:
        from huggingface_hub import snapshot_download as download
    try:
        path = download(model.hub_id, cache_dir=cache_dir, allow_patterns=list(ALLOW_PATTERNS))
    except OSError as exc:  # connection errors of requests/httpx are OSErrors too
        raise BackendUnavailable(
            f"models pull {model.name}: cannot reach the Hugging Face hub ({type(exc).__name__}); check the "
            f"network, or download {model.hub_id} on another machine and pass the folder with --model"
        ) from exc
    except Exception as exc:  # the hub client's own errors: missing repository, gated model, ...
        raise BackendUnavailable(f"models pull {model.name}: the hub refused {model.hub_id} ({exc})") from exc
    folder = Path(path)
    if any(folder.rglob("*.bin")) or any(folder.rglob("*.pt")) or any(folder.rglob("*.pth")):
        raise BackendUnavailable(f"{folder}: holds pickled weights; shotsmith loads safetensors only")
    return folder
