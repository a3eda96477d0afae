"""Which torch device a run uses, checked before any work and recorded in the run manifest.

``--device`` takes ``cpu``, ``cuda`` or ``cuda:N``. Neural codecs run on it, and so do Whisper
(CTranslate2, ``device="cuda"``) and the speaker model. Asking for CUDA where
``torch.cuda.is_available()`` is false fails here, up front, rather than as a failed row per item
after the suite has been loaded and the workers started: a run that cannot use its device should
cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError

_FORM = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


@dataclass(frozen=True)
class Device:
    """A parsed ``--device``: ``kind`` is "cpu" or "cuda", ``index`` the CUDA ordinal."""

    kind: str
    index: int | None = None

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    @property
    def ordinal(self) -> int:
        """The CUDA device index a backend that takes (device, index) needs (CTranslate2)."""
        return self.index or 0

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def parse_device(name: str) -> Device:
    """``"cuda:1"`` -> Device("cuda", 1); anything but cpu / cuda / cuda:N is a clear error."""
    match = _FORM.match(str(name).strip())
    if match is None or (match.group(1) == "cpu" and match.group(2) is not None):
        raise BenchError(f"--device {name!r}: expected cpu, cuda or cuda:N")
    return Device(match.group(1), None if match.group(2) is None else int(match.group(2)))


def check_device(name: str) -> Device:
    """Parse and check that the device exists here; raise before any work if it does not."""
    device = parse_device(name)
    if not device.is_cuda:
        return device
    import torch

    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
        raise BenchError(f"--device {device}: torch.cuda.is_available() is False here (torch {torch.__version__}, "
                         f"{build} build); install a CUDA build of torch on a machine with an NVIDIA GPU, "
                         "or run with --device cpu")
    count = torch.cuda.device_count()
    if device.ordinal >= count:
        raise BenchError(f"--device {device}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return device


def device_info(name: str) -> dict[str, Any]:
    """What the run manifest records: the device, and for CUDA torch's name for it and versions."""
    device = check_device(name)
    info: dict[str, Any] = {"device": str(device)}
    if device.is_cuda:
        import torch

        info.update(cuda_name=torch.cuda.get_device_name(device.ordinal), torch_cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info
