"""A run started from a plain script without ``if __name__ == "__main__":`` fails at once, clearly.

The local executor's workers are started with ``spawn`` (``fork`` is unsafe once torch, numba or
CTranslate2 have started threads). A spawned worker re-runs the parent's main script to rebuild
its namespace; without the guard that re-run reaches ``bench.api.run`` again, Python refuses to
start processes from a process that is still bootstrapping, and every worker dies: the items
would be recorded as crashed although nothing is wrong with them. So:

* in the parent, :func:`check_main_guard` finds the line of the main script that (directly or
  through functions) called the run and raises :class:`MainGuardError` when that line is not
  inside an ``if __name__ == "__main__":`` block: before any worker starts;
* in a worker re-running the script, :func:`exit_if_bootstrapping` exits quietly with
  :data:`BOOTSTRAP_EXIT`, which the executor turns into the same error (for call sites the
  check cannot see, e.g. code run through ``exec``) instead of recording failed items.

Notebooks, ``python -c`` and ``python -m package`` have no main file that spawn re-runs: they need
no guard and work as they are.
"""

from __future__ import annotations

import ast
import multiprocessing
import sys
from pathlib import Path

from bench.errors import BenchError

#: exit code of a worker that was re-running an unguarded main script
BOOTSTRAP_EXIT = 87


class MainGuardError(BenchError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where}: bench.api.run was called from a script's top level without "
            "`if __name__ == \"__main__\":`. Its worker processes (spawned) re-run the script, so the run "
            "cannot start. Put the call under `if __name__ == \"__main__\":`, or pass executor=\"inline\" "
            "to run in this process (no worker processes)."
        )


def _rerun_main_file() -> str | None:
    """The main script that spawn re-runs in each worker, mirroring multiprocessing.spawn: a module
    run with ``-m`` is re-imported by name unless it is a ``__main__`` module; a file by path."""
    main = sys.modules.get("__main__")
    if main is None:
        return None
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return None if name == "__main__" or name.endswith(".__main__") else getattr(main, "__file__", None)
    return getattr(main, "__file__", None)


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    has_name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    has_main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    return has_name and has_main


def _call_line() -> int | None:
    """Line of the main module's top-level code that is running now (the outermost such frame)."""
    main = sys.modules.get("__main__")
    frame, line = sys._getframe(1), None
    while frame is not None:
        if frame.f_code.co_name == "<module>" and main is not None and frame.f_globals is vars(main):
            line = frame.f_lineno
        frame = frame.f_back
    return line


def check_main_guard() -> None:
    """Raise :class:`MainGuardError` when spawned workers would re-run this run's call (see module doc)."""
    path = _rerun_main_file()
    if not path:
        return
    line = _call_line()
    if line is None:
        return  # not called from the main script's top-level code (e.g. a thread or a callback)
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return  # cannot read the script: the worker-side check still catches the re-run
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.lineno <= line <= (node.end_lineno or line):
            return
    raise MainGuardError(f"{path}:{line}")


def exit_if_bootstrapping() -> None:
    """In a spawned worker that is re-running the main script, end it quietly with BOOTSTRAP_EXIT."""
    # spawn sets _inheriting while the child rebuilds the parent's __main__ (the same flag Python's own
    # "bootstrapping phase" RuntimeError reads); parent_process() is not set yet at that point
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(BOOTSTRAP_EXIT)
