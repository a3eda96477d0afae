"""Build hook: copy the stock data files into the wheel as package data (``bench/_data``).

The repository keeps codec cards, suites, demo data, Lyra models, gate margins and layouts at its
top level, where people edit them; ``bench/resources.py`` reads them there in a checkout or an
editable install, and from ``bench/_data`` (same layout) in an installed wheel. Copying at build
time keeps one copy in the repository. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: repository paths (files or folders) that make up bench/_data
DATA = ["datasets.yaml", "codecs", "data/speech_demo", "third_party/lyra_v2", "third_party/esc",
        "reports/gate.yaml", "reports/layouts"]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


class build_py_with_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        here = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "bench" / "_data"
        for rel in DATA:
            src, out = here / rel, dest / rel
            if not src.exists():
                raise FileNotFoundError(f"setup.py: {src} (package data) is missing from the source tree")
            out.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, out, ignore=_IGNORE, dirs_exist_ok=True)
            else:
                shutil.copy2(src, out)


setup(cmdclass={"build_py": build_py_with_data})
