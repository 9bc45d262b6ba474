"""Lesson 17: the system panel's facts are there and sane."""

from __future__ import annotations

import os
import platform

import torch

from labcore import system


def test_the_system_info_has_every_field_and_sane_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCORE_DATA", str(tmp_path / "not" / "yet"))  # before the first download
    info = system.system_info()
    assert info.device == ("cuda" if torch.cuda.is_available() else "cpu") and info.device_name
    assert (info.gpu_memory_gb is None) == (info.device == "cpu")
    assert info.torch_threads == torch.get_num_threads() >= 1
    assert info.cpu_count == os.cpu_count()
    assert info.torch_version == torch.__version__ and info.torchvision_version
    assert info.python_version == platform.python_version()
    assert info.data_dir == str(tmp_path / "not" / "yet")
    assert 0 < info.disk_free_gb < 1e6
    if platform.system() == "Linux":
        assert 0 < info.ram_available_gb <= info.ram_total_gb < 1e5
        assert info.device == "cuda" or info.device_name == system.cpu_model() != ""
