"""Hostile input, round 2 (issue 20): small files that would eat gigabytes are refused before anything is
decompressed; weights files get the lab's own message for each way they fail (never PyTorch's, which suggests
the unsafe weights_only=False); non-finite weights are refused; one upload limit; one preprocessing for
training and Try it; unreadable files are named with the reason.

Every hostile file is generated here, never committed. Each memory test asserts the refusal comes before any
decompression (the reader is replaced by one that fails the test) and that the process's peak memory grows by
less than MEMORY_BOUND_MB.
"""

from __future__ import annotations

import io
import pickle
import resource
import struct
import threading
import tomllib
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.data.images import JPEG_SUFFIXES, UPLOAD_MB, accepted_names, picture_to_input, uploader_types
from labcore.explain.features import image_from_bytes
from labcore.i18n import LabError
from labcore.transfer import uploads
from labcore.transfer.uploads import Limits, UploadRefused, bundle_from_files, bundle_from_zip, upload_slot
from labcore.transfer.weights import check_weights_file, read_state_dict

MEMORY_BOUND_MB = 100  # the hostile files below would cost 250 MB to 1 GB if they were unpacked
ROOT = Path(__file__).resolve().parents[2]


def png(color: tuple[int, int, int], size: tuple[int, int] = (20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


class _no_reads:
    """Context: no zip member may be opened and torch.load may not run (the refusal must come from the zip's
    directory alone), and the process's peak memory grows by less than MEMORY_BOUND_MB."""

    def __enter__(self):
        self._saved = zipfile.ZipFile.open, zipfile.ZipFile.read, torch.load

        def refuse(*args, **kwargs):
            raise AssertionError("decompressed before the refusal")

        zipfile.ZipFile.open = zipfile.ZipFile.read = torch.load = refuse
        self._rss = _maxrss_mb()
        return self

    def __exit__(self, *exc):
        zipfile.ZipFile.open, zipfile.ZipFile.read, torch.load = self._saved
        assert _maxrss_mb() - self._rss < MEMORY_BOUND_MB
        return False


def _zeros_member(zf: zipfile.ZipFile, name: str, mib: int) -> None:
    """A member of `mib` MiB of zeros, streamed: the test itself never holds it."""
    chunk = bytes(2**20)
    with zf.open(name, "w", force_zip64=True) as f:
        for _ in range(mib):
            f.write(chunk)


# -- 2. memory amplification ---------------------------------------------------------------------------------------
def test_a_thousand_small_zero_members_are_refused_before_any_is_unpacked():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(1000):  # 1,000 x 1 MiB: each member is under the old per-member ratio check
            _zeros_member(zf, f"c{i % 2}/{i}.png", 1)
    raw = buf.getvalue()
    assert len(raw) < 6 * 2**20  # about 4.7 MB declaring 1,000 MiB
    with _no_reads():
        with pytest.raises(LabError) as err:
            bundle_from_zip(raw, owner="hostile-zip")
    assert err.value.key == "transfer.upload.bomb"


def test_the_ratio_is_checked_over_all_members_together():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(200):  # 200 MiB declared: under the 256 MiB total, but ~200x smaller in the zip
            _zeros_member(zf, f"c{i % 2}/{i}.png", 1)
    with _no_reads():
        with pytest.raises(LabError) as err:
            bundle_from_zip(buf.getvalue())
    assert err.value.key == "transfer.upload.bomb"


def test_declared_sizes_and_the_session_budget_are_checked_before_reading():
    rng = np.random.default_rng(0)
    files = {f"c{i % 2}/{i}.png": rng.bytes(300_000) for i in range(8)}  # incompressible: the ratio is ~1
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with _no_reads():
        with pytest.raises(LabError) as err:
            bundle_from_zip(buf.getvalue(), limits=Limits(total_bytes=2 * 2**20))
        assert err.value.key == "transfer.upload.bomb"
        with pytest.raises(LabError) as err:
            bundle_from_zip(buf.getvalue(), limits=Limits(session_bytes=2 * 2**20))
        assert err.value.key == "transfer.upload.over_budget"
        assert "2 MB" in err.value.message()
    by_class = {"a": [(f"{i}.png", rng.bytes(300_000)) for i in range(4)], "b": [("x.png", b"1")]}
    with pytest.raises(LabError) as err:  # files per class count against the same budget
        bundle_from_files(by_class, limits=Limits(session_bytes=2**20))
    assert err.value.key == "transfer.upload.over_budget"


def _hostile_pth(mib: int = 256) -> bytes:
    """A torch.save container of one float32 tensor of `mib` MiB of zeros, its records re-stored deflated: about
    1 MB on disk, and torch.load would unpack the whole tensor. The pickle is torch's own, with the tensor's
    length patched in, so the test never holds the tensor itself."""
    good = io.BytesIO()
    torch.save({"w": torch.zeros(10)}, good)
    src = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    numel = struct.pack("<i", mib * 2**20 // 4)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):  # the storage's numel, and the tensor's size
                data = data.replace(b"cpuq\x06K\n", b"cpuq\x06J" + numel).replace(b"QK\x00K\n", b"QK\x00J" + numel)
                assert data.count(numel) == 2
            if info.filename.endswith("/data/0"):
                _zeros_member(zf, info.filename, mib)
            else:
                zf.writestr(info.filename, data)
    return out.getvalue()


def test_a_weights_file_with_compressed_records_is_refused_before_torch_load():
    raw = _hostile_pth()
    assert len(raw) < 2 * 2**20  # about 1 MB, declaring 256 MiB
    with _no_reads(), pytest.raises(LabError) as err:
        check_weights_file("resnet18", raw, owner="hostile-pth")
    assert err.value.key == "transfer.upload.weights_compressed"


def _lie_about_sizes(raw: bytes, size: int) -> bytes:
    """Every central-directory entry claims `size` uncompressed (and compressed) bytes."""
    out = bytearray(raw)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        out[pos + 20 : pos + 28] = struct.pack("<II", size, size)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def test_weights_records_that_claim_more_than_the_file_holds_are_refused():
    good = io.BytesIO()
    torch.save({"w": torch.zeros(10)}, good)
    with _no_reads(), pytest.raises(LabError) as err:
        read_state_dict(_lie_about_sizes(good.getvalue(), 2**30))
    assert err.value.key == "transfer.upload.weights_declared"


MEASURE = """
import io, json, resource, zipfile
import torch
from labcore.i18n import LabError
from labcore.transfer.uploads import bundle_from_zip
from labcore.transfer.weights import check_weights_file
from tests.unit.test_upload_hostile import _hostile_pth, _zeros_member

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
    for i in range(1000):
        _zeros_member(zf, f"c{i % 2}/{i}.png", 1)
cases = {"zip": (bundle_from_zip, buf.getvalue()), "pth": (lambda raw: check_weights_file("lab_digits", raw),
                                                          _hostile_pth(256))}
growth = {}
for name, (fn, raw) in cases.items():
    before = peak()
    try:
        fn(raw)
    except LabError as e:
        growth[name] = (peak() - before, e.key)
print(json.dumps(growth))
"""


def test_a_fresh_server_process_stays_within_the_memory_bound():
    """The two hostile files of issue 20 in a fresh process, where the peak memory is not hidden by earlier
    tests: unpacked they would cost 1,000 MiB and 256 MiB; refused first, the peak grows < MEMORY_BOUND_MB."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    growth = json.loads(proc.stdout.strip().splitlines()[-1])
    assert growth["zip"][1] == "transfer.upload.bomb" and growth["pth"][1] == "transfer.upload.weights_compressed"
    assert growth["zip"][0] < MEMORY_BOUND_MB and growth["pth"][0] < MEMORY_BOUND_MB, growth


def test_one_upload_at_a_time_per_session():
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with upload_slot("tab-1"):
            inside.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(5)
    try:
        with pytest.raises(LabError) as err, upload_slot("tab-1", wait_s=0.05):
            pass
        assert err.value.key == "transfer.upload.busy"
        with upload_slot("tab-2", wait_s=0.05):  # another session is not held up...
            with pytest.raises(LabError) as err, upload_slot("tab-3", wait_s=0.05):
                pass  # ...but the server reads at most MAX_READING uploads at once
            assert err.value.key == "transfer.upload.server_busy" and uploads.MAX_READING == 2
    finally:
        release.set()
        t.join(5)
    with upload_slot("tab-1", wait_s=0.05):  # free again once the first is read
        pass
    with pytest.raises(LabError):
        bundle_from_zip(b"not a zip", owner="tab-1")
    with upload_slot("tab-1", wait_s=0.05):  # a refusal releases the slot too
        pass
    assert uploads._SLOTS == {}


# -- 3 and 4. weights: non-finite values, and the lab's own message for each failure -------------------------------
def _saved(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused(value):
    state = {"conv.weight": torch.ones(4, 3), "conv.bias": torch.ones(4)}
    state["conv.bias"][2] = value
    with pytest.raises(LabError) as err:
        read_state_dict(_saved(state))
    assert err.value.key == "transfer.upload.weights_non_finite"
    assert "conv.bias" in err.value.message() and "NaN" in err.value.message()


_GOOD = _saved({"w": torch.ones(3)})
_LEGACY = _saved({"w": torch.ones(3)}, _use_new_zipfile_serialization=False)


@pytest.mark.parametrize(("raw", "key"), [
    (b"", "transfer.upload.weights_empty"),
    (b"definitely not a checkpoint", "transfer.upload.weights_not_torch"),
    (pickle.dumps({"a": 1}, protocol=2), "transfer.upload.weights_not_torch"),
    (_GOOD[: len(_GOOD) // 2], "transfer.upload.weights_truncated"),
    (_GOOD[:-10], "transfer.upload.weights_truncated"),
    (_LEGACY[:60], "transfer.upload.weights_truncated"),
    (_LEGACY[:-5], "transfer.upload.weights_truncated"),
    (_saved({"w": torch.ones(1), "payload": partial(print, "pwned")}), "transfer.upload.weights_unsafe"),
    (_saved(torch.nn.Linear(2, 2)), "transfer.upload.weights_unsafe"),  # a whole pickled model
    (_saved([torch.ones(2)]), "transfer.upload.weights_not_state_dict"),
    (_saved(torch.ones(2)), "transfer.upload.weights_not_state_dict"),
    (_saved({}), "transfer.upload.weights_no_tensors"),
])
def test_each_weights_failure_gets_the_labs_own_message(raw, key):
    with pytest.raises(LabError) as err:
        read_state_dict(raw)
    assert err.value.key == key
    message = err.value.message()
    assert "weights_only" not in message and "\x1b" not in message and "state dict ()" not in message
    assert "PytorchStreamReader" not in message and "miniz" not in message


def test_a_legacy_format_file_still_loads():
    assert torch.equal(read_state_dict(_LEGACY)["w"], torch.ones(3))


def test_weights_of_another_architecture_say_so():
    with pytest.raises(LabError) as err:
        check_weights_file("lab_digits", _saved({"fc.weight": torch.ones(2, 2), "conv9.weight": torch.ones(1)}))
    assert err.value.key == "transfer.weights_mismatch"
    assert "another architecture" in err.value.message() and "weights_only" not in err.value.message()


# -- 5. one upload limit ---------------------------------------------------------------------------------------------
def test_one_upload_limit_stated_once():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == UPLOAD_MB
    assert Limits().zip_bytes == UPLOAD_MB * 2**20
    app = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "app" / "views").glob("*.py"))
    for page in ("transfer.py", "try_it.py", "explain.py"):
        text = (ROOT / "app" / "views" / page).read_text(encoding="utf-8")
        assert text.count("file_uploader(") == text.count("max_upload_size=")
    assert "200 * 2**20" not in app


# -- 6. one preprocessing for training and Try it --------------------------------------------------------------------
def _three_stripes(width: int = 90, height: int = 30) -> bytes:
    """Red | green | blue, left to right: a centre crop is all green; a stretch keeps all three."""
    a = np.zeros((height, width, 3), np.uint8)
    a[:, : width // 3, 0] = 255
    a[:, width // 3 : 2 * width // 3, 1] = 255
    a[:, 2 * width // 3 :, 2] = 255
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def test_training_and_try_it_crop_a_non_square_picture_the_same_way():
    raw = _three_stripes()
    trained = uploads.decode_image(raw, 24)  # how your own images are stored for training
    tried = image_from_bytes(raw, (3, 24, 24))  # what Try it (and Explain) feed the model
    assert trained is not None and trained.shape == (3, 24, 24)
    assert np.array_equal(trained, (tried.numpy() * 255).round().astype(np.uint8))
    assert trained[1].min() > 200 and trained[0].max() < 60 and trained[2].max() < 60  # centre-cropped: green
    grey = picture_to_input(raw, (1, 8, 8))
    assert grey.shape == (1, 8, 8) and np.ptp(grey[0, :, 1:-1]) <= 2  # green only (edges blend a little)


# -- 7. unreadable files are listed with the reason ------------------------------------------------------------------
def test_a_class_short_of_images_lists_its_unreadable_files_and_why():
    by_class = {"cats": [(f"c{i}.png", png((200, 0, 0))) for i in range(4)],
                "dogs": [("d0.png", png((0, 0, 200))), ("d1.png", b"\x89PNG\r\n\x1a\n cut short"),
                         ("d2.jpg", b""), ("d3.gif", b"GIF89a" + bytes(10))]}
    with pytest.raises(UploadRefused) as err:
        bundle_from_files(by_class, size=16)
    assert err.value.key == "transfer.upload.too_few_unreadable"
    message = err.value.message()
    assert "dogs" in message and "d1.png" in message and "d2.jpg: the file is empty" in message
    lines = err.value.report.unreadable(classes=["dogs"])
    assert len(lines) == 3 and all(": " in line for line in lines)


def test_every_jpeg_name_is_accepted_and_refusals_name_what_is():
    jpeg = io.BytesIO()
    Image.new("RGB", (12, 12), (0, 200, 0)).save(jpeg, "JPEG")
    by_class = {"a": [(f"x{i}{s}", jpeg.getvalue()) for i, s in enumerate(JPEG_SUFFIXES[:3])],
                "b": [(f"y{i}{s}", jpeg.getvalue()) for i, s in enumerate(JPEG_SUFFIXES[3:6])]}
    data, report = bundle_from_files(by_class, size=8)
    assert report.total == 6 and not report.skipped
    assert {"jfif", "jpe", "jpeg", "jpg"} <= set(uploader_types(JPEG_SUFFIXES))
    assert "JPEG" in accepted_names((".png", *JPEG_SUFFIXES))
    with pytest.raises(LabError) as err:
        bundle_from_files({"a": [("x.png", b"nope")], "b": [("y.png", b"nope")]})
    assert err.value.key == "transfer.upload.no_images" and "JPEG (.jpg" in err.value.message()


def _browser_takes(types: list[str], name: str, mime: str) -> bool:
    """Streamlit's own check in the browser (FileUploader: accepted by MIME type, or by how the name ends);
    a file it refuses shows "<mime> files are not allowed." and never reaches the page."""
    from streamlit.elements.lib.file_uploader_utils import normalize_upload_file_type

    allowed = normalize_upload_file_type(types)
    mimes, suffixes = [t for t in allowed if "/" in t], [t for t in allowed if "/" not in t]
    return mime in mimes or any(name.lower().endswith(s) for s in suffixes)


def test_a_jpeg_is_never_refused_by_the_browser_whatever_its_name():
    """Issue 19: "image/jpeg files are not allowed" for a JPEG (a .jfif, a phone photo without a suffix, a
    drawing saved as JPEG). Every image uploader in app/ takes its types from `uploader_types`."""
    photo = (".png", *JPEG_SUFFIXES)
    types = uploader_types(photo)
    for name in [f"me{s}" for s in JPEG_SUFFIXES] + ["ME.JFIF", "photo", "IMG_0001.jpg_large"]:
        assert _browser_takes(types, name, "image/jpeg"), name
    assert _browser_takes(types, "drawing.png", "image/png")
    assert not _browser_takes(types, "scan.heic", "image/heic")  # refused: the caption names what is accepted
    # (tests/app/test_transfer_page.py checks both Try it uploaders, the drawing one included, on the page)
