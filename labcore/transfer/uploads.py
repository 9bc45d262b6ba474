"""Your own images, safely: a zip of class folders or files per class (uploads, webcam shots) -> a `DataBundle`.

Uploads are untrusted. Nothing is extracted to disk (so no path can escape anywhere, and a path that tries
is refused anyway); sizes, counts and compression ratios are checked before anything is decompressed, and
each read is capped in case a zip header lies. Every image is probed (format, pixel count, `verify()`)
before it is decoded. Files that are not images are skipped and listed; broken images are listed too.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from labcore.data import DataBundle, DatasetInfo
from labcore.data.bundle import channel_stats
from labcore.i18n import LabError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
FORMATS = {"PNG", "JPEG", "BMP", "GIF", "WEBP", "MPO"}  # MPO: what some phone cameras call their JPEGs


@dataclass(frozen=True)
class Limits:
    zip_bytes: int = 200 * 2**20  # the upload itself
    files: int = 10_000  # members of a zip, or files in all
    total_bytes: int = 1024 * 2**20  # everything decompressed
    file_bytes: int = 20 * 2**20  # one decompressed image
    ratio: int = 100  # decompressed / compressed beyond this (on files over 1 MiB) smells like a bomb
    pixels: int = 40_000_000  # one image; Pillow's own bomb guard is at 89 M
    classes: int = 100


@dataclass
class IngestReport:
    """What went in and what did not, for the page to show."""

    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not images
    corrupt: list[str] = field(default_factory=list)  # claimed to be images, could not be read

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not (p.parts and p.parts[0].endswith(":"))


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def decode_image(raw: bytes, size: int, limits: Limits = Limits()) -> np.ndarray | None:
    """(3, size, size) uint8, centre-cropped square; None if `raw` is not a readable image within the limits."""
    if len(raw) > limits.file_bytes:
        return None
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in FORMATS or probe.width * probe.height > limits.pixels:
                return None
            probe.verify()  # structure check without decoding every pixel
        with Image.open(io.BytesIO(raw)) as img:  # verify() leaves the image unusable: reopen
            img = ImageOps.exif_transpose(img).convert("RGB")
            img = ImageOps.fit(img, (size, size), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            EOFError, TypeError, KeyError, IndexError, ZeroDivisionError):  # what broken files raise in Pillow
        return None


def read_zip(raw: bytes, limits: Limits = Limits()) -> tuple[dict[str, list[tuple[str, bytes]]], list[str]]:
    """{class: [(file name, bytes)]} from a zip of class folders, and the files that were left out.

    The class is each file's folder name, so `cats/1.jpg` and `photos/cats/1.jpg` both land in "cats".
    """
    if len(raw) > limits.zip_bytes:
        raise LabError("transfer.upload.too_big", mb=limits.zip_bytes // 2**20)
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        members = [m for m in zf.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise LabError("transfer.upload.not_zip") from e
    if len(members) > limits.files:
        raise LabError("transfer.upload.too_many", n=len(members), limit=limits.files)
    for m in members:  # refuse the whole archive: a crafted path means a crafted archive
        if not _safe_name(m.filename):
            raise LabError("transfer.upload.unsafe_path", name=m.filename[:80])
    declared = sum(m.file_size for m in members)
    bomb = any(m.file_size > 2**20 and m.file_size > limits.ratio * max(m.compress_size, 1) for m in members)
    if declared > limits.total_bytes or bomb:
        raise LabError("transfer.upload.bomb", mb=limits.total_bytes // 2**20)
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    skipped: list[str] = []
    total = 0
    for m in members:
        parts = PurePosixPath(m.filename.replace("\\", "/")).parts
        if _hidden(parts):
            continue
        if len(parts) < 2 or PurePosixPath(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(m.filename)
            continue
        if m.file_size > limits.file_bytes:
            skipped.append(m.filename)
            continue
        try:
            with zf.open(m) as f:
                data = f.read(limits.file_bytes + 1)  # never more than the cap, whatever the header says
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
            data = b""  # a broken member or an encrypted one: reported as corrupt below
        total += len(data)
        if total > limits.total_bytes or len(data) > limits.file_bytes:
            raise LabError("transfer.upload.bomb", mb=limits.total_bytes // 2**20)
        by_class.setdefault(parts[-2], []).append((m.filename, data))
    return by_class, skipped


def bundle_from_files(by_class: dict[str, list[tuple[str, bytes]]], *, size: int = 96, seed: int = 0,
                      skipped: list[str] | None = None, limits: Limits = Limits(),
                      name: str = "your_images") -> tuple[DataBundle, IngestReport]:
    """Decode every image, split each class 70/15/15 (seeded), and report what was left out."""
    report = IngestReport(skipped=list(skipped or []))
    classes = {c.strip(): files for c, files in by_class.items() if c.strip() and files}
    if len(classes) > limits.classes:
        raise LabError("transfer.upload.too_many_classes", n=len(classes), limit=limits.classes)
    if sum(len(f) for f in classes.values()) > limits.files:
        raise LabError("transfer.upload.too_many", n=sum(len(f) for f in classes.values()), limit=limits.files)
    images: dict[str, list[np.ndarray]] = {}
    for cls in sorted(classes):
        for filename, raw in classes[cls]:
            if PurePosixPath(filename).suffix.lower() not in IMAGE_SUFFIXES | {""}:
                report.skipped.append(filename)
                continue
            a = decode_image(raw, size, limits)
            if a is None:
                report.corrupt.append(filename)
            else:
                images.setdefault(cls, []).append(a)
    report.counts = {c: len(v) for c, v in images.items()}
    if not images:
        raise LabError("transfer.upload.no_images")
    if len(images) < 2:
        raise LabError("transfer.upload.one_class", name=next(iter(images)))
    small = [c for c, v in images.items() if len(v) < 3]
    if small:
        raise LabError("transfer.upload.too_few", names=", ".join(small[:5]))
    return _split(images, size, seed, name), report


def bundle_from_zip(raw: bytes, *, size: int = 96, seed: int = 0,
                    limits: Limits = Limits()) -> tuple[DataBundle, IngestReport]:
    by_class, skipped = read_zip(raw, limits)
    return bundle_from_files(by_class, size=size, seed=seed, skipped=skipped, limits=limits)


def _split(images: dict[str, list[np.ndarray]], size: int, seed: int, name: str) -> DataBundle:
    """Per class: at least one image each for validation and test, about 15 % each, the rest to train."""
    rng = np.random.default_rng(seed)
    parts: list[list[tuple[np.ndarray, int]]] = [[], [], []]
    for label, cls in enumerate(images):
        arr = images[cls]
        order = rng.permutation(len(arr))
        n_hold = max(1, round(0.15 * len(arr)))
        for k, chunk in enumerate((order[2 * n_hold :], order[:n_hold], order[n_hold : 2 * n_hold])):
            parts[k] += [(arr[i], label) for i in chunk]
    tensors = []
    for part in parts:
        tensors += [torch.from_numpy(np.stack([a for a, _ in part])), torch.tensor([y for _, y in part])]
    info = DatasetInfo(name, "image", (3, size, size), tuple(images))
    bundle = DataBundle(info, *tensors)  # uint8 images: scaled to [0, 1] batch by batch
    bundle.mean, bundle.std = channel_stats(bundle.x_train[:2000].float() / 255)
    return bundle
