"""Your own images, safely: a zip of class folders or files per class (uploads, webcam shots) -> a `DataBundle`.

Uploads are untrusted. Nothing is extracted to disk (so no path can escape anywhere, and a path that tries
is refused anyway); sizes, counts and compression ratios are checked before anything is decompressed, and
each read is capped in case a zip header lies. Every image is probed (format, pixel count, `verify()`)
before it is decoded. Files that are not images are skipped and listed; broken images are listed with why.

The work one upload may cause is bounded before anything is unpacked: the declared sizes of all members
together (at most `Limits.total_bytes`, and at most `Limits.ratio` times what they take in the zip), and an
estimate of the memory reading it needs (the raw bytes plus the decoded images) against a per-session budget
(`Limits.session_bytes`). Each session (`owner`) reads one upload at a time (`upload_slot`), so one tab can
hold at most one budget's worth of upload work, however fast it sends files.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import torch

from labcore.data import DataBundle, DatasetInfo
from labcore.data.bundle import channel_stats
from labcore.data.images import IMAGE_FORMATS, MAX_PIXELS, UPLOAD_MB, accepted_names, picture_to_input
from labcore.data.images import IMAGE_SUFFIXES as _SUFFIXES
from labcore.i18n import LabError, t

IMAGE_SUFFIXES = set(_SUFFIXES)  # every JPEG spelling (.jfif, .jpe, ...) included
FORMATS = set(IMAGE_FORMATS)
ACCEPTED = accepted_names(_SUFFIXES)  # how messages name what is accepted
SLOT_WAIT_S = 30.0  # a second upload from the same session waits this long for the first to be read


@dataclass(frozen=True)
class Limits:
    zip_bytes: int = UPLOAD_MB * 2**20  # the upload itself: the one limit every uploader states
    files: int = 10_000  # members of a zip, or files in all
    total_bytes: int = 256 * 2**20  # everything decompressed (declared sizes, summed before anything is read)
    file_bytes: int = UPLOAD_MB * 2**20  # one image, decompressed: the same limit as one uploaded file
    ratio: int = 100  # decompressed / compressed beyond this, over the whole zip or one member, smells like a bomb
    pixels: int = MAX_PIXELS  # one image; Pillow's own bomb guard is at 89 M
    classes: int = 100
    session_bytes: int = 384 * 2**20  # memory one session's upload may need while it is read (raw + decoded)


def work_bytes(raw_bytes: int, n_images: int, size: int) -> int:
    """Memory reading an upload needs at most: its raw (decompressed) bytes plus the decoded images, twice
    (the per-image arrays and the stacked tensors exist together for a moment)."""
    return raw_bytes + 2 * n_images * 3 * size * size


MAX_READING = 2  # uploads read at once on the whole server: the server's upload memory is at most this many budgets
_READING = threading.BoundedSemaphore(MAX_READING)
_SLOTS: dict[str, list] = {}  # owner -> [its lock, how many calls hold or wait for it]
_SLOTS_LOCK = threading.Lock()


@contextmanager
def upload_slot(owner: str | None, wait_s: float = SLOT_WAIT_S) -> Iterator[None]:
    """At most one upload read at a time per session (`owner`), and `MAX_READING` on the whole server; a
    further one waits up to `wait_s`, then is refused with a message.

    `owner=None` (scripts, tests) takes no slot. The page passes its session's owner id, so however many files
    a tab sends, it holds at most one `Limits.session_bytes` budget of upload work at a time.
    """
    if owner is None:
        yield
        return
    with _SLOTS_LOCK:
        entry = _SLOTS.setdefault(owner, [threading.Lock(), 0])
        entry[1] += 1
    try:
        if not entry[0].acquire(timeout=wait_s):
            raise LabError("transfer.upload.busy")
        try:
            if not _READING.acquire(timeout=wait_s):
                raise LabError("transfer.upload.server_busy")
            try:
                yield
            finally:
                _READING.release()
        finally:
            entry[0].release()
    finally:
        with _SLOTS_LOCK:  # keep the table small: forget owners nobody holds or waits for
            entry[1] -= 1
            if entry[1] == 0 and _SLOTS.get(owner) is entry:
                del _SLOTS[owner]


@dataclass
class IngestReport:
    """What went in and what did not, for the page to show."""

    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not images
    corrupt: list[str] = field(default_factory=list)  # claimed to be images, could not be read
    why: dict[str, tuple[str, dict]] = field(default_factory=dict)  # corrupt file -> (catalogue key, params)
    corrupt_by_class: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def unreadable(self, lang: str = "en", classes: list[str] | None = None) -> list[str]:
        """"file: why" for each image that could not be read (only those of `classes` if given)."""
        names = self.corrupt if classes is None else [n for c in classes for n in self.corrupt_by_class.get(c, [])]
        out = []
        for name in names:
            key, params = self.why.get(name, ("images.why_broken", {}))
            out.append(f"{name}: {t(key, lang, **params)}")
        return out


class UploadRefused(LabError):
    """A refusal that comes with what was read so far (e.g. which files could not be read, and why)."""

    def __init__(self, key: str, report: IngestReport, **params: object):
        super().__init__(key, **params)
        self.report = report


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not (p.parts and p.parts[0].endswith(":"))


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def read_image(raw: bytes, size: int, limits: Limits = Limits()) -> np.ndarray:
    """(3, size, size) uint8, centre-cropped square (`picture_to_input`, as Try it does); LabError says why not."""
    return picture_to_input(raw, (3, size, size), formats=frozenset(FORMATS), max_bytes=limits.file_bytes,
                            max_pixels=limits.pixels)


def decode_image(raw: bytes, size: int, limits: Limits = Limits()) -> np.ndarray | None:
    """`read_image`, or None if `raw` is not a readable image within the limits."""
    try:
        return read_image(raw, size, limits)
    except LabError:
        return None


def _is_image_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def check_budget(raw_bytes: int, n_images: int, size: int, limits: Limits = Limits()) -> None:
    """Refuse an upload whose reading would need more memory than one session may use."""
    need = work_bytes(raw_bytes, n_images, size)
    if need > limits.session_bytes:
        raise LabError("transfer.upload.over_budget", need=need / 2**20, mb=limits.session_bytes / 2**20)


def read_zip(raw: bytes, limits: Limits = Limits(), *,
             size: int = 96) -> tuple[dict[str, list[tuple[str, bytes]]], list[str]]:
    """{class: [(file name, bytes)]} from a zip of class folders, and the files that were left out.

    The class is each file's folder name, so `cats/1.jpg` and `photos/cats/1.jpg` both land in "cats".
    Everything is decided from the zip's directory before a single member is decompressed: the declared sizes
    in all (against `total_bytes` and `ratio` times what the members take in the zip) and the memory the
    whole upload needs at `size` px (against the session budget).
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
    packed = sum(m.compress_size for m in members)
    bomb = any(m.file_size > 2**20 and m.file_size > limits.ratio * max(m.compress_size, 1) for m in members)
    bomb |= declared > 2**20 and declared > limits.ratio * max(packed, 1)  # many small members add up too
    if declared > limits.total_bytes or bomb:
        raise LabError("transfer.upload.bomb", mb=limits.total_bytes // 2**20)
    wanted = [m for m in members if _is_image_name(m.filename) and m.file_size <= limits.file_bytes]
    check_budget(sum(m.file_size for m in wanted), len(wanted), size, limits)
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    skipped: list[str] = []
    total = 0
    for m in members:
        parts = PurePosixPath(m.filename.replace("\\", "/")).parts
        if _hidden(parts):
            continue
        if len(parts) < 2 or not _is_image_name(parts[-1]):
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
                      skipped: list[str] | None = None, limits: Limits = Limits(), name: str = "your_images",
                      owner: str | None = None) -> tuple[DataBundle, IngestReport]:
    """Decode every image, split each class 70/15/15 (seeded), and report what was left out (and why).

    `owner` (the session's id) makes a second upload from the same session wait for this one (`upload_slot`).
    """
    with upload_slot(owner):
        return _bundle(by_class, size=size, seed=seed, skipped=skipped, limits=limits, name=name)


def _bundle(by_class: dict[str, list[tuple[str, bytes]]], *, size: int, seed: int, skipped: list[str] | None,
            limits: Limits, name: str) -> tuple[DataBundle, IngestReport]:
    report = IngestReport(skipped=list(skipped or []))
    classes = {c.strip(): files for c, files in by_class.items() if c.strip() and files}
    if len(classes) > limits.classes:
        raise LabError("transfer.upload.too_many_classes", n=len(classes), limit=limits.classes)
    if sum(len(f) for f in classes.values()) > limits.files:
        raise LabError("transfer.upload.too_many", n=sum(len(f) for f in classes.values()), limit=limits.files)
    wanted = [raw for files in classes.values() for filename, raw in files if _is_image_name(filename)
              or not PurePosixPath(filename).suffix]
    check_budget(sum(min(len(raw), limits.file_bytes + 1) for raw in wanted), len(wanted), size, limits)
    images: dict[str, list[np.ndarray]] = {}
    for cls in sorted(classes):
        for filename, raw in classes[cls]:
            if PurePosixPath(filename).suffix and not _is_image_name(filename):
                report.skipped.append(filename)
                continue
            try:
                images.setdefault(cls, []).append(read_image(raw, size, limits))
            except LabError as e:
                report.corrupt.append(filename)
                report.corrupt_by_class.setdefault(cls, []).append(filename)
                report.why[filename] = (e.key, e.params)
    images = {c: v for c, v in images.items() if v}
    report.counts = {c: len(v) for c, v in images.items()}
    if not images:
        raise UploadRefused("transfer.upload.no_images", report, accepted=ACCEPTED)
    if len(classes) < 2:
        raise UploadRefused("transfer.upload.one_class", report, name=next(iter(images)))
    small = [c for c in sorted(classes) if len(images.get(c, [])) < 3]
    if small:
        unreadable = report.unreadable(classes=small)
        if unreadable:
            more = f" (+{len(unreadable) - 5})" if len(unreadable) > 5 else ""
            raise UploadRefused("transfer.upload.too_few_unreadable", report, names=", ".join(small[:5]),
                                files="; ".join(unreadable[:5]) + more)
        raise UploadRefused("transfer.upload.too_few", report, names=", ".join(small[:5]))
    return _split(images, size, seed, name), report


def bundle_from_zip(raw: bytes, *, size: int = 96, seed: int = 0, limits: Limits = Limits(),
                    owner: str | None = None) -> tuple[DataBundle, IngestReport]:
    """`read_zip` then `bundle_from_files`, as one upload of session `owner` (see `upload_slot`)."""
    with upload_slot(owner):
        by_class, skipped = read_zip(raw, limits, size=size)
        return _bundle(by_class, size=size, seed=seed, skipped=skipped, limits=limits, name="your_images")


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
