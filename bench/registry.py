"""One registry for every plug-in point: codec adapters, metrics, executors, report formats and
corpus formats are each a :class:`Registry` filled by a decorator in the module that defines them.

Each plug-in point was once its own dict with its own decorator and its own "unknown name"
message; one class gives them the same behaviour: a name registered twice by two different
objects is an error (a plugin silently replacing a stock metric would change numbers), an
unknown name lists the known ones, and modules are imported only when a name is looked up.

>>> formats = Registry("report format")
>>> @formats.register("txt")
... def write_txt(card, out): ...
>>> formats.get("txt") is write_txt, formats.names()
(True, ['txt'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from bench.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> registered object.

    ``kind``: what the names are, for messages ("metric", "executor"). ``discover``: called once
    before a name is looked up that is not registered yet (imports the package's modules, which
    register themselves); ``lazy``: name -> module that registers it, imported on first use (an
    optional dependency imported only when asked for), listed among the known names before that.
    """

    def __init__(self, kind: str, *, discover: Callable[[], None] | None = None,
                 lazy: dict[str, str] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._discover = discover
        self._discovered = discover is None
        self._lazy = dict(lazy or {})

    def add(self, name: str, obj: T) -> T:
        old = self._entries.get(name)
        if old is not None and old is not obj and _qualname(old) != _qualname(obj):
            raise ConfigError(f"{self.kind} {name!r} is registered twice: by {_qualname(old)} and {_qualname(obj)}")
        self._entries[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")``."""
        return lambda obj: self.add(name, obj)

    def discover(self) -> None:
        if not self._discovered:
            self._discovered = True
            self._discover()

    def get(self, name: str) -> T:
        if name not in self._entries and name in self._lazy:
            importlib.import_module(self._lazy[name])
        if name not in self._entries:
            self.discover()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self.names())
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        """Registered names (after discovery) and lazily registered ones, in registration order."""
        self.discover()
        return list(dict.fromkeys([*self._entries, *self._lazy]))

    def entries(self) -> dict[str, T]:
        """Registered objects by name (after discovery; lazy ones only once imported)."""
        self.discover()
        return dict(self._entries)

    def registered(self) -> dict[str, T]:
        """What is registered so far, without discovery."""
        return dict(self._entries)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"

