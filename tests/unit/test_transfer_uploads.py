"""Your own images: a good zip becomes a split DataBundle; hostile or useless uploads are refused with a message."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from labcore.i18n import LabError
from labcore.transfer.uploads import Limits, bundle_from_files, bundle_from_zip, read_zip


def png(color: tuple[int, int, int], size: tuple[int, int] = (20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def make_zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims enormous dimensions (a decompression bomb's calling card), with no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _good_files() -> dict[str, bytes]:
    files = {f"pets/cats/{i}.png": png((200, 40 + i, 40)) for i in range(5)}
    files |= {f"pets/dogs/{i}.jpg": png((40, 40, 200 - i)) for i in range(4)}
    return files


def test_a_zip_of_class_folders_becomes_a_split_bundle():
    files = _good_files() | {"pets/readme.txt": b"hello", "pets/cats/notes.txt": b"meow",
                             "pets/dogs/broken.png": b"\x89PNG\r\n\x1a\n not really", "__MACOSX/pets/._x.png": b"",
                             "pets/dogs/giant.png": huge_png_header(100_000, 100_000)}
    data, report = bundle_from_zip(make_zip(files), size=32)
    assert data.class_names == ["cats", "dogs"]
    assert report.counts == {"cats": 5, "dogs": 4}
    assert sorted(report.skipped) == ["pets/cats/notes.txt", "pets/readme.txt"]
    assert sorted(report.corrupt) == ["pets/dogs/broken.png", "pets/dogs/giant.png"]
    assert data.input_shape == (3, 32, 32) and data.x_train.dtype.is_floating_point is False
    assert sum(data.sizes().values()) == 9 and min(data.sizes().values()) >= 2  # every class in every split
    for y in (data.y_train, data.y_val, data.y_test):
        assert set(y.tolist()) == {0, 1}
    cats = data.x_train[data.y_train == 0].float().mean((0, 2, 3))
    assert cats[0] > 150 and cats[2] < 100  # red images, decoded as RGB


def test_files_uploaded_per_class_work_the_same():
    by_class = {"thumbs up": [(f"a{i}.png", png((250, 250, 250))) for i in range(3)],
                "thumbs down": [(f"b{i}.png", png((5, 5, 5))) for i in range(3)], "  ": [("c.png", png((1, 2, 3)))]}
    data, report = bundle_from_files(by_class, size=16)
    assert set(data.class_names) == {"thumbs up", "thumbs down"} and report.total == 6


@pytest.mark.parametrize("bad_name", ["../../etc/evil.png", "/abs/cats/x.png", "cats/../../x.png", "C:/x/cats/a.png"])
def test_path_traversal_refuses_the_whole_zip(bad_name):
    raw = make_zip(_good_files() | {bad_name: png((1, 1, 1))})
    with pytest.raises(LabError) as err:
        bundle_from_zip(raw)
    assert err.value.key == "transfer.upload.unsafe_path"


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    raw = make_zip(_good_files() | {"pets/cats/bomb.png": b"\0" * (30 * 2**20)})
    assert len(raw) < 200_000  # 30 MB of zeros squeeze into a few dozen kB
    with pytest.raises(LabError) as err:
        bundle_from_zip(raw)
    assert err.value.key == "transfer.upload.bomb"
    many = make_zip({f"c{i % 2}/{i}.png": b"\0" * 2048 for i in range(40)})
    with pytest.raises(LabError) as err:
        read_zip(many, Limits(total_bytes=50_000))
    assert err.value.key == "transfer.upload.bomb"
    with pytest.raises(LabError) as err:
        read_zip(many, Limits(files=10))
    assert err.value.key == "transfer.upload.too_many"


@pytest.mark.parametrize(("files", "key"), [
    ({}, "transfer.upload.no_images"),
    ({"a/readme.md": b"# nothing here"}, "transfer.upload.no_images"),
    ({f"cats/{i}.png": png((9, 9, 9)) for i in range(4)}, "transfer.upload.one_class"),
    ({"cats/1.png": png((9, 9, 9)), "dogs/1.png": png((1, 1, 1)), "dogs/2.png": png((1, 1, 1)),
      "dogs/3.png": png((1, 1, 1))}, "transfer.upload.too_few"),
    ({f"{c}/{i}.png": b"garbage" for c in "ab" for i in range(3)}, "transfer.upload.no_images"),
])
def test_useless_uploads_get_a_clear_message(files, key):
    with pytest.raises(LabError) as err:
        bundle_from_zip(make_zip(files))
    assert err.value.key == key
    assert err.value.message()  # a sentence from the catalogue, not a traceback


def test_not_a_zip_and_too_big_are_refused():
    with pytest.raises(LabError) as err:
        bundle_from_zip(b"PK\x03\x04 this is not a zip at all" + bytes(np.arange(100, dtype=np.uint8)))
    assert err.value.key == "transfer.upload.not_zip"
    with pytest.raises(LabError) as err:
        bundle_from_zip(make_zip(_good_files()), limits=Limits(zip_bytes=100))
    assert err.value.key == "transfer.upload.too_big"
