"""`shotsmith models`: the catalogue, finding a model in the hub cache, and pulling through a stubbed hub client
(never the network)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shotsmith import models as M
from shotsmith.errors import BackendUnavailable, InputError


def _fake_cache(root: Path, hub_id: str, files: dict[str, str]) -> Path:
    """A Hugging Face cache holding `hub_id` at one snapshot (the hub client's own layout)."""
    repo = root / ("models--" + hub_id.replace("/", "--"))
    snap = repo / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    for name, text in files.items():
        (snap / name).write_text(text)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return snap


def test_find_by_name_or_hub_id_and_suggestions():
    small = M.find("depth-anything-v2-small")
    assert small.hub_id == "depth-anything/Depth-Anything-V2-Small-hf" and small.task == "depth"
    assert M.find("Depth-Anything/Depth-Anything-V2-Small-hf") is small
    assert M.find("zai-org/CogVideoX-5b-I2V").backend == "cogvideox"
    assert (
        M.find("someone/custom-model").hub_id == "someone/custom-model"
    )  # any hub id is fetched the same way
    with pytest.raises(InputError, match="did you mean depth-anything-v2-small"):
        M.find("depth-anything-v2-smal")
    assert all(m.hub_id.count("/") == 1 and m.size_gb > 0 for m in M.KNOWN)
    assert not any(m.hub_id.startswith("THUDM/") for m in M.KNOWN)  # CogVideoX moved to zai-org


def test_local_path_finds_a_cached_model_without_network(tmp_path):
    model = M.find("depth-anything-v2-small")
    assert M.local_path(model, tmp_path) is None
    snap = _fake_cache(tmp_path, model.hub_id, {"config.json": "{}", "model.safetensors": "x"})
    assert M.local_path(model, tmp_path) == snap


def test_pull_asks_for_safetensors_and_configs_only(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []

    def download(repo_id, cache_dir=None, allow_patterns=None):
        calls.append((repo_id, allow_patterns))
        return str(_fake_cache(Path(cache_dir), repo_id, {"config.json": "{}", "model.safetensors": "x"}))

    folder = M.pull(M.find("depth-anything-v2-small"), tmp_path, download=download)
    assert (folder / "model.safetensors").is_file()
    ((repo, patterns),) = calls
    assert repo == "depth-anything/Depth-Anything-V2-Small-hf"
    assert "*.safetensors" in patterns and not any(
        p.endswith((".bin", ".pt", ".pth", ".ckpt")) for p in patterns
    )


def test_pull_refuses_pickled_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def download(repo_id, cache_dir=None, allow_patterns=None):
        return str(_fake_cache(Path(cache_dir), repo_id, {"config.json": "{}", "pytorch_model.bin": "x"}))

    with pytest.raises(BackendUnavailable, match="safetensors only"):
        M.pull(M.find("moge-2-vits"), tmp_path, download=download)


def test_pull_offline_and_unreachable_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendUnavailable, match="offline") as exc:
        M.pull(M.find("wan2.1-t2v-1.3b"), tmp_path, download=lambda *a, **k: pytest.fail("must not download"))
    assert "\n" not in str(exc.value)
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def unreachable(*args, **kwargs):
        raise ConnectionError("no route to host")

    with pytest.raises(BackendUnavailable, match="cannot reach the Hugging Face hub") as exc:
        M.pull(M.find("wan2.1-t2v-1.3b"), tmp_path, download=unreachable)
    assert "\n" not in str(exc.value) and "--model" in str(exc.value)


def test_models_cli_lists_and_prints_paths(cli, tmp_path, monkeypatch):
    from shotsmith.console import console

    monkeypatch.setattr(console, "width", 400)  # one line per model
    model = M.find("clip-vit-b-32")
    code, _out, err = cli("models", "path", model.name, "--cache-dir", tmp_path)
    assert code == 1 and "shotsmith models pull clip-vit-b-32" in err
    snap = _fake_cache(tmp_path, model.hub_id, {"open_clip_config.json": "{}", "model.safetensors": "x"})
    code, out, err = cli("models", "path", model.name, "--cache-dir", tmp_path)
    assert code == 0 and out.strip() == str(snap), err
    code, _out, err = cli("models", "--cache-dir", tmp_path)
    row = next(line for line in err.splitlines() if "clip-vit-b-32" in line)
    assert code == 0 and str(snap) in row and "timm/vit_base_patch32_clip_224.openai" in row
    assert all(" no " in line for line in err.splitlines() if "wan2.1-t2v-1.3b" in line)


def test_the_suite_never_reaches_the_network():
    """conftest blocks every connection that leaves this machine: a test that tried would fail."""
    with pytest.raises(OSError, match="network"):
        socket.create_connection(("203.0.113.1", 443), timeout=1)  # TEST-NET-3: nothing is there


def test_depth_auto_offline_falls_back_to_the_prior_at_once(monkeypatch):
    import time

    from shotsmith.backends import depth

    depth.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    backend, why = depth.resolve_depth("auto", announce=False)
    assert backend.name == "prior" and "shotsmith models pull depth-anything-v2-small" in why
    assert time.perf_counter() - t0 < 0.5  # no waiting on a time-out
    depth.hub_reachable.cache_clear()


def test_depth_auto_online_fetches_depth_anything_small_on_first_use(monkeypatch):
    """With the hub reachable and no weights here, auto picks Depth Anything V2 Small and fetches it when it
    loads (through `models.pull`, stubbed here: the suite never downloads)."""
    from shotsmith.backends import depth

    monkeypatch.setattr(depth, "hub_reachable", lambda timeout=1.5: True)
    backend, why = depth.resolve_depth("auto", announce=False)
    assert backend.name == "depth-anything-v2" and backend.settings.fetch and "fetched once" in why
    pulled = []

    def fake_pull(model, cache_dir=None, download=None):
        pulled.append(model.hub_id)
        raise BackendUnavailable("stub hub: nothing downloaded")

    monkeypatch.setattr(M, "pull", fake_pull)
    with pytest.raises(BackendUnavailable, match="stub hub"):
        backend.load()
    assert pulled == ["depth-anything/Depth-Anything-V2-Small-hf"]
