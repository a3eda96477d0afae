"""Render an HTML card report in headless Chromium: screenshot + console errors + script ran.

    python benchmarks/html_report_browser.py REPORT_DIR [--screenshot docs/report_screenshot.png]

Exit status 1 when the page logs to the console, its sorter script did not run, or it points at
files that are not in the folder (a report must open offline, from its own folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.reporting.browser import check_page, chromium


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("report", type=Path, help="report folder holding index.html")
    ap.add_argument("--screenshot", type=Path, default=None)
    ap.add_argument("--height", type=int, default=1600)
    args = ap.parse_args()
    if chromium() is None:
        print("chromium not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    res = check_page(args.report / "index.html", args.screenshot, height=args.height)
    print(f"script ran: {res.ready}; console messages: {len(res.console)}; missing files: {len(res.missing_files)}")
    for m in res.console + res.missing_files:
        print("  ", m)
    if res.screenshot:
        print(f"screenshot: {res.screenshot}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
