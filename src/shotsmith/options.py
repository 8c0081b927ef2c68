"""Options declared once: a config dataclass field (type, default, attribute docstring) is its CLI option.

Every stage's `Config` and the `run` / `recapture` / `plan` configs are plain dataclasses whose fields carry a
docstring (nerfstudio's style). `option_specs(Config)` turns them into `OptionSpec`s that `shotsmith.cli.build`
makes into click options, so the help, the default and the type of an option are written in exactly one place.
Field metadata (set with `opt(...)`) adds what a type cannot say: extra flag names, a positional argument, a
parser for a text form ("832x480", "400,300"), a user file whose content is part of the stage's inputs.
`nested(...)` composes a config of other configs (`run` holds every stage's), renaming or leaving out fields
whose names collide. Validation stays in each config's `validate()`; this module only describes and converts.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

from shotsmith.errors import InputError

__all__ = [
    "OptionSpec",
    "build_config",
    "config_files",
    "field_docs",
    "nested",
    "opt",
    "option_specs",
    "parse_numbers",
    "parse_size",
    "show_size",
]


def opt(
    default: Any = MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    flags: tuple[str, ...] = (),
    argument: bool = False,
    parse: Callable[[str], Any] | None = None,
    show: Callable[[Any], str] | None = None,
    metavar: str | None = None,
    file: bool = False,
    cli: bool = True,
) -> Any:
    """A dataclass field with CLI facts.

    flags: the option's names (default `--field-name`; give them to add a short form or an alias);
    argument: a positional argument instead of an option; parse: text -> value (raises InputError);
    show: value -> text for the help's default; file: the value names a user file whose content the stage
    depends on (hashed as an input); cli: False keeps a field out of the command line (internal).
    """
    meta = {
        "flags": tuple(flags),
        "argument": argument,
        "parse": parse,
        "show": show,
        "metavar": metavar,
        "file": file,
        "cli": cli,
    }
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def nested(
    cls: type,
    *,
    exclude: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
    share: tuple[str, ...] = (),
) -> Any:
    """A field holding another config; its fields become options of the outer command.

    exclude: fields not offered (the outer config sets them); rename: field -> option dest (for names that
    collide with another nested config's); share: fields that take the value of an earlier option of the same
    name (one `--clip-pretrained` for caption and evaluate)."""
    meta = {"nested": True, "exclude": tuple(exclude), "rename": dict(rename or {}), "share": tuple(share)}
    return field(default_factory=cls, metadata=meta)


# ---------------------------------------------------------------------------------------------------------------
# Docstrings of fields


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """{field name: its attribute docstring, on one line} of a dataclass (and its dataclass bases)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not is_dataclass(klass) or klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
        for prev, node in zip(body, body[1:], strict=False):
            if (
                isinstance(prev, ast.AnnAssign)
                and isinstance(prev.target, ast.Name)
                and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                docs[prev.target.id] = " ".join(node.value.value.split())
    return docs


# ---------------------------------------------------------------------------------------------------------------
# Text forms


def parse_size(text: str) -> tuple[int, int]:
    """ "832x480" -> (832, 480); even positive numbers."""
    from shotsmith.presets import parse_size as _parse

    return _parse(text)


def show_size(value: Any) -> str:
    return f"{value[0]}x{value[1]}" if value else ""


def parse_numbers(count: int, option: str) -> Callable[[str], tuple[float, ...]]:
    """A parser of `count` comma-separated numbers ("400,300") with a one-line error naming `option`."""

    def parse(text: str) -> tuple[float, ...]:
        parts = [p for p in str(text).replace(" ", "").split(",") if p]
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            values = ()
        if len(values) != count:
            example = ",".join(["400", "300", "2"][:count])
            raise InputError(
                f"{option} {text!r}: expected {count} comma-separated numbers, e.g. {option} {example}"
            )
        return values

    return parse


# ---------------------------------------------------------------------------------------------------------------
# Specs


@dataclass
class OptionSpec:
    """One command-line option (or argument) and where its value goes."""

    dest: str
    """The option's name (click's parameter name; `--dest-with-dashes` unless `flags` says otherwise)."""
    path: tuple[str, ...]
    """Field path in the config: ("size",) or ("generate", "steps"); several for a shared option."""
    targets: list[tuple[str, ...]]
    """Every field path that receives the value (one, or more for a shared option)."""
    kind: type
    """int, float, str or bool (after removing Optional)."""
    default: Any
    """The dataclass default (MISSING when required)."""
    help: str
    multiple: bool = False
    argument: bool = False
    flags: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    show: Callable[[Any], str] | None = None
    metavar: str | None = None
    file: bool = False

    @property
    def required(self) -> bool:
        return self.default is MISSING

    def default_text(self) -> str:
        d = self.default
        if d is MISSING or d is None or (self.multiple and not d):
            return ""
        if self.show is not None:
            return self.show(d)
        if isinstance(d, bool):
            return ""
        return str(d)


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _unwrap(tp: Any) -> tuple[type, bool]:
    """(scalar kind, is a list) of an annotation: `int | None` -> (int, False), `list[str]` -> (str, True)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else (str, False)
    if origin is list:
        return _unwrap(typing.get_args(tp)[0])[0], True
    if origin is typing.Literal:
        return type(typing.get_args(tp)[0]), False
    if origin is tuple:
        return str, False  # a text form with a parser ("832x480", "400,300")
    if tp in (int, float, str, bool):
        return tp, False
    return str, False


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return MISSING


def option_specs(cls: type) -> list[OptionSpec]:
    """The command-line options of a config dataclass, nested configs flattened in field order."""
    specs: dict[str, OptionSpec] = {}
    _collect(cls, (), {}, (), (), specs)
    return list(specs.values())


def _collect(cls, prefix, rename, exclude, share, specs: dict[str, OptionSpec]) -> None:
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in fields(cls):
        meta = f.metadata
        if f.name in exclude or not meta.get("cli", True):
            continue
        path = (*prefix, f.name)
        if meta.get("nested"):
            _collect(hints[f.name], path, meta["rename"], meta["exclude"], meta["share"], specs)
            continue
        dest = rename.get(f.name, f.name)
        if dest in specs:
            if f.name in share:
                specs[dest].targets.append(path)
                continue
            raise TypeError(
                f"{cls.__name__}.{f.name}: option --{dest.replace('_', '-')} is declared twice "
                f"({'.'.join(specs[dest].path)}); rename, exclude or share it in the outer config"
            )
        flags = tuple(meta.get("flags", ()))
        if dest != f.name:  # a renamed option answers to its new name only (its old flags belong to another)
            flags = ()
        taken = {fl for other in specs.values() for fl in (other.flags or (_flag(other.dest),))}
        clash = taken & set(flags or (_flag(dest),))
        if clash:
            raise TypeError(
                f"{cls.__name__}.{f.name}: flag {sorted(clash)[0]} is declared twice; rename or exclude it"
            )
        kind, multiple = _unwrap(hints[f.name])
        help_text = docs.get(f.name, "")
        if not help_text:
            raise TypeError(f"{cls.__name__}.{f.name}: every option needs a docstring (its --help line)")
        specs[dest] = OptionSpec(
            dest=dest,
            path=path,
            targets=[path],
            kind=kind,
            default=_default(f),
            help=help_text,
            multiple=multiple,
            argument=bool(meta.get("argument")),
            flags=flags,
            parse=meta.get("parse"),
            show=meta.get("show"),
            metavar=meta.get("metavar"),
            file=bool(meta.get("file")),
        )


def build_config(cls: type, values: dict[str, Any], specs: list[OptionSpec] | None = None) -> Any:
    """A config from option values ({dest: value}; None or an empty list = not given, so the default holds).
    Text forms are parsed here (an InputError names the option)."""
    specs = specs if specs is not None else option_specs(cls)
    given: dict[tuple[str, ...], Any] = {}
    for spec in specs:
        value = values.get(spec.dest)
        if value is None or (spec.multiple and not value):
            continue
        if spec.multiple:
            value = [_convert(spec, v) for v in (value if isinstance(value, list | tuple) else [value])]
        else:
            value = _convert(spec, value)
        for target in spec.targets:
            given[target] = value
    return _make(cls, (), given)


_KINDS = {int: "a whole number", float: "a number", bool: "true or false"}


def _convert(spec: OptionSpec, value: Any) -> Any:
    """An option's value from its text form (a jobs file, a config file) or as given (the CLI converts types)."""
    if spec.parse is not None:
        return spec.parse(value) if isinstance(value, str) else value
    kind = spec.kind
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
    elif kind is int:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return value
        elif isinstance(value, float) and value.is_integer():
            return int(value)
        else:
            try:
                return int(str(value).strip())
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            pass
    elif kind is str:
        return value if isinstance(value, str) else str(value)
    else:
        return value
    flag = "--" + spec.dest.replace("_", "-")
    raise InputError(f"{flag} {value!r}: expected {_KINDS[kind]}")


def _make(cls: type, prefix: tuple[str, ...], given: dict[tuple[str, ...], Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        path = (*prefix, f.name)
        if f.metadata.get("nested"):
            kwargs[f.name] = _make(hints[f.name], path, given)
        elif path in given:
            kwargs[f.name] = given[path]
    return cls(**kwargs)


def config_files(cfg: Any) -> dict[str, str]:
    """{field name: path} of the user files a config names (fields declared with `file=True` that are set and
    name an existing file), for the runner to hash as inputs."""
    from pathlib import Path

    out = {}
    for f in fields(cfg):
        if not f.metadata.get("file"):
            continue
        value = getattr(cfg, f.name)
        for k, v in enumerate(value if isinstance(value, list) else [value]):
            if v and Path(str(v)).is_file():
                out[f.name if not isinstance(value, list) else f"{f.name}[{k}]"] = str(v)
    return out
