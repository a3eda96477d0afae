"""Open a report page in headless Chromium: screenshot it, collect console messages, and check
that the page's script ran (it sets ``data-ready`` on ``<body>``).

Used by the browser test and ``benchmarks/html_report_browser.py``; Chromium is the Debian
package ``chromium`` and is optional (callers skip with the reason when it is absent).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)$")
_LOCAL_REF = re.compile(r'(?:src|href)="([^"#:]+)"')


@dataclass
class PageCheck:
    console: list[str] = field(default_factory=list)  # every console message (the report logs none)
    ready: bool = False  # the inline script ran to its end
    missing_files: list[str] = field(default_factory=list)  # src/href that point at nothing
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return self.ready and not self.console and not self.missing_files


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def check_page(index: Path, screenshot: Path | None = None, width: int = 1300, height: int = 1600,
               timeout: float = 90) -> PageCheck:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    index = Path(index).resolve()
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--virtual-time-budget=3000", f"--window-size={width},{height}"]
    url = index.as_uri()
    res = PageCheck()
    shot_args = [f"--screenshot={Path(screenshot).resolve()}"] if screenshot else []
    log = subprocess.run([*base, "--enable-logging=stderr", "--v=0", *shot_args, url], capture_output=True,
                         text=True, timeout=timeout)
    res.console = [m.group(1) for line in log.stderr.splitlines() if (m := _CONSOLE.search(line))]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=timeout).stdout
    res.ready = 'data-ready="1"' in dom
    for ref in _LOCAL_REF.findall(index.read_text()):
        if not (index.parent / ref).exists():
            res.missing_files.append(ref)
    if screenshot and Path(screenshot).exists():
        res.screenshot = Path(screenshot)
    return res
