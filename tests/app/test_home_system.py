"""Lesson 17: the Home page's "This computer" expander shows this machine's device, threads and versions."""

from __future__ import annotations

import os

import torch

from tests.app.conftest import open_page


def test_the_home_page_shows_this_computer():
    at = open_page("views/home.py")
    assert any(e.label == "This computer (lesson 17)" for e in at.expander)
    [table] = [d.value for d in at.dataframe if "Item" in d.value.columns]
    row = dict(zip(table["Item"], table["Value"], strict=True))
    assert row["CPU cores"] == str(os.cpu_count()) and row["PyTorch threads"] == str(torch.get_num_threads())
    assert row["Device"].startswith("GPU (CUDA) · " if torch.cuda.is_available() else "CPU · ")
    assert torch.__version__ in row["PyTorch · torchvision · CUDA · Python"]
    assert row["Memory (available / total)"].count(" GB") == 2 and row["Free disk for the data folder"].endswith(")")
