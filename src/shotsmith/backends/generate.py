"""Generators by name: guidance (rendered cache + hole mask) in, a complete video out.

The interface (`Generator`, `GenerateRequest`, `Constraints`, the registry) is `shotsmith.backends.generator`,
re-exported here; this module imports the built-in backends (`inpaint`, and `wan` / `cogvideox` from
`diffusion`) and builds them by name or `auto`. Embedded backends are always importable; neural ones import
diffusers/torch inside their methods.
"""

from __future__ import annotations

from shotsmith.backends.generator import GENERATORS, Constraints, GenerateRequest, Generator, register
from shotsmith.errors import BackendUnavailable

__all__ = [
    "GENERATORS",
    "Constraints",
    "GenerateRequest",
    "Generator",
    "get_generator",
    "names",
    "register",
    "resolve_generator",
]


def _load_builtin() -> None:
    from shotsmith.backends import diffusion, inpaint  # noqa: F401 - registration side effect


def names() -> list[str]:
    _load_builtin()
    return GENERATORS.names()


def get_generator(name: str, **kwargs) -> Generator:
    """A generator by registry name (not "auto"; see `resolve_generator`)."""
    _load_builtin()
    return GENERATORS.create(name, **kwargs)


def resolve_generator(name: str, **kwargs) -> tuple[Generator, str]:
    """(generator, why) for a name or "auto": a real model if its weights are on this machine, else `inpaint`."""
    if name != "auto":
        gen = get_generator(name, **kwargs)
        ok, reason = gen.available()
        if not ok:
            raise BackendUnavailable(f"generator {name!r} cannot run here: {reason}")
        return gen, "asked for"
    for candidate in ("wan", "cogvideox"):
        gen = get_generator(candidate, **kwargs)
        ok, _ = gen.available()
        if ok:
            return gen, f"auto: {candidate} weights found on this machine"
    return get_generator(
        "inpaint"
    ), "auto: no video-model weights on this machine, using the embedded inpaint"
