"""Named backend factories: the registry every model-backed capability shares (DESIGN.md section 5).

A capability's interface module makes one `Registry`; each backend class registers itself with
`@REGISTRY.register("name")`; callers build one with `REGISTRY.create("name", **kwargs)`. The registry imports
no backend: the capability module that resolves names (`shotsmith.backends.depth`,
`shotsmith.backends.generate`) imports its built-in backends first, so the backends, which import only the
interface, never import it back.
Choosing `auto` and checking availability stay with each capability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from shotsmith.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Backend factories of one capability by name."""

    def __init__(self, kind: str, alternatives: str = "") -> None:
        self.kind = kind
        """What a name names, for messages ("depth backend", "generator")."""
        self.alternatives = alternatives
        """What else a user may give instead of a name, appended to the unknown-name error."""
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Class decorator: make a backend buildable by `create(name)`."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return deco

    def names(self) -> list[str]:
        """Registered names (without "auto"), sorted."""
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def create(self, name: str, **kwargs) -> T:
        """The backend registered as `name`, built with `kwargs`; InputError listing the choices otherwise."""
        if name not in self._factories:
            also = f", {self.alternatives}" if self.alternatives else ""
            raise InputError(
                f"unknown {self.kind} {name!r}; choose one of auto, {', '.join(self.names())}{also}"
            )
        return self._factories[name](**kwargs)
