"""Lazy access to lhotse (extra ``corpora``): it imports torch, so only loaders that use it pay."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from types import ModuleType

from bench.errors import UnavailableError


def recipes() -> ModuleType:
    try:
        import lhotse.recipes as rec
    except ImportError as exc:
        raise UnavailableError(
            f"reading this corpus needs lhotse ({exc}); install it with `pip install -c constraints.txt '.[corpora]'`"
        ) from exc
    return rec


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """lhotse recipes draw tqdm bars and log at INFO; a suite load should be silent."""
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.WARNING)
    try:
        # tqdm reads TQDM_DISABLE only at import; its bars go to sys.stderr at creation time.
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.getLogger().setLevel(level)
