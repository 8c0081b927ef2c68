"""The stage contract and the generated CLI: every option is declared once, in a config dataclass, and every
stage command offers every field of its config with the field's default and docstring."""

from __future__ import annotations

import dataclasses

import click
import pytest

from shotsmith import workspace as W
from shotsmith.cli import command
from shotsmith.options import build_config, field_docs, option_specs
from shotsmith.pipeline import RecaptureConfig, RunConfig
from shotsmith.stages import STAGES
from shotsmith.stages import generate as generate_stage


def _params(name: str) -> dict[str, click.Parameter]:
    group = command()
    ctx = click.Context(group)
    cmd = group.get_command(ctx, name)
    assert cmd is not None, name
    return {p.name: p for p in cmd.params}


def _leaf_fields(cls, prefix=()):
    for f in dataclasses.fields(cls):
        if f.metadata.get("nested"):
            hint = cls.__dataclass_fields__[f.name].default_factory
            yield from (
                (path, field)
                for path, field in _leaf_fields(hint, (*prefix, f.name))
                if field.name not in f.metadata["exclude"]
            )
        elif f.metadata.get("cli", True):
            yield (*prefix, f.name), f


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_every_config_field_is_an_option_with_its_default_and_doc(stage):
    params = _params(stage.name)
    docs = field_docs(stage.config)
    defaults = stage.config()
    for f in dataclasses.fields(stage.config):
        assert f.name in params, f"{stage.name}: --{f.name.replace('_', '-')} is not reachable"
        param = params[f.name]
        assert param.help is not None and param.help.startswith(docs[f.name]), (stage.name, f.name)
        # not given: the config's own default
        cfg = build_config(stage.config, {})
        assert getattr(cfg, f.name) == getattr(defaults, f.name)
    extra = set(params) - {f.name for f in dataclasses.fields(stage.config)}
    assert extra <= {"workspace", "force"}, extra


@pytest.mark.parametrize("config,name", [(RunConfig, "run"), (RecaptureConfig, "recapture")])
def test_run_and_recapture_offer_every_stage_option(config, name):
    params = _params(name)
    specs = {tuple(t) for s in option_specs(config) for t in s.targets}
    for path, _f in _leaf_fields(config):
        assert path in specs, f"{name}: {'.'.join(path)} is not reachable"
    assert {s.dest for s in option_specs(config)} <= set(params)


def test_a_value_reaches_the_nested_stage_config():
    cfg = build_config(
        RunConfig,
        {
            "prompt": "x",
            "image": "a.png",
            "device": "cuda:1",
            "offload": "text-cpu",
            "depth_model": "folder",
            "size": "320x240",
            "clip_pretrained": "w.safetensors",
            "eval_seed": 3,
        },
    )
    assert cfg.generate.device == "cuda:1" and cfg.generate.offload == "text-cpu"
    assert cfg.cache.model == "folder" and cfg.plan.size == (320, 240)
    assert (
        cfg.caption.clip_pretrained == cfg.evaluation.clip_pretrained == "w.safetensors"
    )  # one shared option
    assert cfg.evaluation.seed == 3 and cfg.generate.seed == 0


def test_colliding_options_must_be_resolved():
    @dataclasses.dataclass
    class Outer:
        a: generate_stage.Config = dataclasses.field(
            default_factory=generate_stage.Config,
            metadata={"nested": True, "exclude": (), "rename": {}, "share": ()},
        )
        b: generate_stage.Config = dataclasses.field(
            default_factory=generate_stage.Config,
            metadata={"nested": True, "exclude": (), "rename": {}, "share": ()},
        )

    with pytest.raises(TypeError, match="declared twice"):
        option_specs(Outer)


def test_declared_writes_have_their_producer():
    for stage in STAGES:
        for name in stage.writes:
            assert W.PRODUCERS[name].split()[0] == stage.name, (stage.name, name)


def test_generate_accepts_cuda_n_until_cuda_is_missing():
    """`--device cuda:1` passes the options and builds the backend; the one line that stops it says which GPU
    is missing (on a machine with two GPUs it is used)."""
    import torch

    from shotsmith.backends.diffusion import WanGenerator
    from shotsmith.errors import BackendUnavailable, InputError

    cfg = build_config(generate_stage.Config, {"device": "cuda:1", "generator": "wan"})
    cfg.validate()
    assert cfg.backend_kwargs()["device"] == "cuda:1"
    with pytest.raises(InputError, match="cuda:N"):
        build_config(generate_stage.Config, {"device": "gpu1"}).validate()
    gen = WanGenerator(device="cuda:1")  # the backend takes it too (the old one refused anything but cuda)
    if torch.cuda.device_count() > 1:
        assert gen._device() == "cuda:1"
    else:
        with pytest.raises(BackendUnavailable, match=r"--device cuda:1 asked for, but torch sees"):
            gen._device()


@pytest.mark.parametrize("name", ["run", "recapture", "plan", *[s.name for s in STAGES]])
def test_no_two_options_share_a_flag(name):
    flags = [
        flag
        for p in _params(name).values()
        for flag in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
    ]
    assert len(flags) == len(set(flags)), sorted(f for f in flags if flags.count(f) > 1)


def test_one_device_option_reaches_depth_video_and_clip():
    cfg = build_config(RunConfig, {"prompt": "x", "image": "a.png", "device": "cuda:1"})
    assert cfg.cache.device == cfg.caption.device == cfg.generate.device == cfg.evaluation.device == "cuda:1"
    from shotsmith.backends.packages import resolve_device, valid_device
    from shotsmith.errors import BackendUnavailable

    assert all(valid_device(d) for d in ("auto", "cpu", "cuda", "cuda:3", "mps"))
    assert not any(valid_device(d) for d in ("gpu", "cuda:x", "mps:1", "cpu:0"))
    import torch

    if not torch.cuda.is_available():
        assert resolve_device("auto") in ("cpu", "mps")
        with pytest.raises(BackendUnavailable, match="depth: --device cuda asked for"):
            resolve_device("cuda", "depth")
