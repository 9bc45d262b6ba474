"""Lesson 17, "what am I running on": the device, threads, versions, memory and disk of this machine, as plain
values (the Home page shows them in a small table)."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from labcore.data.online import data_dir


@dataclass(frozen=True)
class SystemInfo:
    device: str  # "cuda" or "cpu"
    device_name: str  # the GPU's name, else the CPU model
    gpu_memory_gb: float | None  # total memory of GPU 0, None without CUDA
    torch_threads: int
    cpu_count: int
    torch_version: str
    torchvision_version: str | None
    cuda_version: str | None  # the CUDA torch was built with, None for a CPU build
    python_version: str
    ram_total_gb: float | None  # None where os.sysconf cannot tell (not Linux)
    ram_available_gb: float | None
    data_dir: str
    disk_free_gb: float


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _sysconf_gb(name: str) -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf(name) / 1024**3
    except (AttributeError, ValueError, OSError):
        return None


def _existing(path: Path) -> Path:
    """The folder itself or, before the first download, its closest parent that exists."""
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path.cwd()


def system_info() -> SystemInfo:
    try:
        import torchvision

        vision = torchvision.__version__
    except ImportError:
        vision = None
    cuda = torch.cuda.is_available()
    memory = torch.cuda.get_device_properties(0).total_memory / 1024**3 if cuda else None
    folder = data_dir()
    return SystemInfo(
        device="cuda" if cuda else "cpu", device_name=torch.cuda.get_device_name(0) if cuda else cpu_model(),
        gpu_memory_gb=memory, torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count() or 1,
        torch_version=torch.__version__, torchvision_version=vision, cuda_version=torch.version.cuda,
        python_version=platform.python_version() or sys.version.split()[0],
        ram_total_gb=_sysconf_gb("SC_PHYS_PAGES"), ram_available_gb=_sysconf_gb("SC_AVPHYS_PAGES"),
        data_dir=str(folder), disk_free_gb=shutil.disk_usage(_existing(folder)).free / 1024**3)
