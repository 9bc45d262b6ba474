"""Pictures from users: which files are accepted, the one upload limit, and the one way a picture becomes a
model's input (Try it, Explain and training on your own images all use `picture_to_input`).

A picture becomes a model's input the same way everywhere: EXIF orientation applied, converted to grey or RGB,
centre-cropped to the input's aspect ratio and resized (`ImageOps.fit`), never stretched. A refused picture
raises `LabError` with a `images.why_*` key that says why, in words a student reads.
"""

from __future__ import annotations

import io

import numpy as np

from labcore.i18n import LabError

UPLOAD_MB = 50  # the one upload limit, per file, for every uploader; .streamlit/config.toml says the same (tested)
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".jfi", ".pjpeg", ".pjp")  # every name a JPEG goes by
PNG_SUFFIXES = (".png",)
IMAGE_SUFFIXES = (*PNG_SUFFIXES, *JPEG_SUFFIXES, ".bmp", ".gif", ".webp")
PHOTO_FORMATS = frozenset({"PNG", "JPEG", "MPO"})  # MPO: what some phone cameras call their JPEGs
IMAGE_FORMATS = PHOTO_FORMATS | {"BMP", "GIF", "WEBP"}
MAX_PIXELS = 40_000_000  # one picture; Pillow's own bomb guard is at 89 M


MIME_TYPES = {".png": "image/png", ".bmp": "image/bmp", ".gif": "image/gif", ".webp": "image/webp",
              **dict.fromkeys(JPEG_SUFFIXES, "image/jpeg")}


def uploader_types(suffixes: tuple[str, ...]) -> list[str]:
    """`st.file_uploader(type=...)` for these suffixes: every JPEG spelling, without dots, and their MIME types.

    A browser accepts a file whose name ends with one of the suffixes or whose type is one of the MIME types,
    so a JPEG is taken whatever its name ("image/jpeg files are not allowed" never appears for a JPEG); the
    picture's content is checked afterwards (`open_picture`), and a refusal names what is accepted.
    """
    mimes = [MIME_TYPES[s] for s in suffixes if s in MIME_TYPES]
    return [s.lstrip(".") for s in suffixes] + list(dict.fromkeys(mimes))


def accepted_names(suffixes: tuple[str, ...]) -> str:
    """How a refusal names what is accepted: "PNG, JPEG (.jpg, .jpeg, .jpe, .jfif…), BMP"."""
    names: list[str] = []
    for s in suffixes:
        if s in JPEG_SUFFIXES:
            jpeg = "JPEG (" + ", ".join(JPEG_SUFFIXES[:4]) + "…)"
            if jpeg not in names:
                names.append(jpeg)
        else:
            names.append(s.lstrip(".").upper())
    return ", ".join(names)


def open_picture(raw: bytes, *, formats: frozenset[str] = IMAGE_FORMATS, max_bytes: int = UPLOAD_MB * 2**20,
                 max_pixels: int = MAX_PIXELS):
    """A checked, still undecoded `PIL.Image` (format, size and structure probed first); LabError says why not."""
    from PIL import Image, UnidentifiedImageError

    if not raw:
        raise LabError("images.why_empty")
    if len(raw) > max_bytes:
        raise LabError("images.why_too_big", mb=max_bytes / 2**20)
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in formats:
                raise LabError("images.why_format", format=probe.format or "?")
            if probe.width * probe.height > max_pixels:
                raise LabError("images.why_pixels", width=probe.width, height=probe.height,
                               mp=max_pixels / 1e6)
            probe.verify()  # the file's structure, without decoding every pixel
        return Image.open(io.BytesIO(raw))  # verify() leaves the image unusable: reopen
    except LabError:
        raise
    except Image.DecompressionBombError as e:
        raise LabError("images.why_huge", mp=max_pixels / 1e6) from e
    except UnidentifiedImageError as e:
        raise LabError("images.why_not_image") from e
    except Exception as e:  # what broken files raise inside Pillow: OSError, SyntaxError, struct errors, ...
        raise LabError("images.why_broken") from e


def picture_to_input(raw: bytes, shape: tuple[int, ...], **checks) -> np.ndarray:
    """(C, H, W) uint8 for a model whose input is `shape` (C = 1 grey or 3 RGB): centre-cropped, not stretched."""
    from PIL import Image, ImageOps

    c, h, w = shape
    img = open_picture(raw, **checks)
    try:
        with img:
            if img.format in ("JPEG", "MPO"):  # let the decoder shrink big photos: a fraction of the memory
                img.draft("L" if c == 1 else "RGB", (2 * max(h, w), 2 * max(h, w)))
            img = ImageOps.exif_transpose(img).convert("L" if c == 1 else "RGB")
            img = ImageOps.fit(img, (w, h), Image.Resampling.BILINEAR)
            a = np.asarray(img, dtype=np.uint8)
    except Exception as e:  # a file that passed verify() and still fails to decode
        raise LabError("images.why_broken") from e
    return (a[None] if a.ndim == 2 else a.transpose(2, 0, 1)).copy()
