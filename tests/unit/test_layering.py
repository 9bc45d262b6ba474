"""labcore is framework-free: nothing under labcore/ imports Streamlit, directly or through another module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import labcore

LABCORE = Path(next(iter(labcore.__path__))).resolve()

PROBE = """
import json, pkgutil, sys
import labcore
names = []
for info in pkgutil.walk_packages(labcore.__path__, "labcore."):
    __import__(info.name)
    names.append(info.name)
print(json.dumps({"modules": names, "streamlit": sorted(m for m in sys.modules if m.split(".")[0] == "streamlit")}))
"""

STREAMLIT_IMPORT = re.compile(r"^\s*(import\s+streamlit\b|from\s+streamlit\b)", re.MULTILINE)


def test_importing_every_labcore_module_leaves_streamlit_out():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # the walk really covered the package, sub-packages included
    files = {
        p.relative_to(LABCORE.parent).with_suffix("").as_posix().replace("/", ".")
        for p in LABCORE.rglob("*.py")
        if p.name != "__init__.py"
    }
    assert files <= set(result["modules"]), files - set(result["modules"])
    assert {"labcore.train.job", "labcore.data.online", "labcore.models.resnet", "labcore.bench"} <= set(
        result["modules"]
    )
    assert result["streamlit"] == []


def test_no_labcore_file_imports_streamlit():
    sources = sorted(LABCORE.rglob("*.py"))
    assert len(sources) > 10
    offenders = [
        str(p.relative_to(LABCORE.parent))
        for p in sources
        if STREAMLIT_IMPORT.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_pattern_finds_streamlit_imports():
    for line in ("import streamlit as st", "  from streamlit.testing.v1 import AppTest", "import streamlit"):
        assert STREAMLIT_IMPORT.search(f"x = 1\n{line}\n")
    for line in (
        "import streamlit_extras",
        "# streamlit is for app/ only",
        "from labcore import streamlined",
    ):
        assert not STREAMLIT_IMPORT.search(line)
