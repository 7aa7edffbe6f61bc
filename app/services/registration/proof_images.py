"""Payment-proof screenshots: what is accepted, how it is kept, and how it is read back.

Rule: a screenshot is accepted only when it is a PNG, JPEG or WebP file of at most 2 MB that
Pillow decodes completely, at most `MAX_SIDE` pixels on its long side and `MAX_PIXELS` in all. A
small file can declare a gigantic canvas (a 113 KB PNG of 6300x6300 decodes to 160 MB and used to
cost a worker 600 MB): the size is read from the file's header and refused before a pixel is
decoded, and no phone or desktop screenshot comes near the limits. Memory is bounded per upload
(the decoded pixels, converted at most once and cleaned in place: under 100 MB above idle for the
largest image accepted, bench/proof_upload.py) and per process (`_DECODING`: one decode at a time
in a worker process, so four uploads at once cost one image's memory, not four). What is stored
is not the upload but an image re-encoded from its pixels alone, in the same format: EXIF (the
phone's location, its serial number), ICC profiles, text chunks and anything hidden after the
image data are dropped, and a photo's EXIF rotation is applied first so it stays upright. It is
kept in the database (`proof_images`), never under `static/`, named by a random key that says
nothing about the team: every app host reads the same screenshots, as they read the same proofs.
Anything else is refused with a `ValidationError` saying why, and nothing is written. Who may see
a stored screenshot is `entry_records.can_view_proof`'s rule (and who may upload one, and when, is
checked by the caller before the image is read: `entries.proof_expected`); this
module only stores and reads.
"""

from __future__ import annotations

import io
import re
import secrets
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import ProofImage

MAX_BYTES = 2 * 1024 * 1024
# A phone screenshot is at most 1440x3200 (4.6 MP), a tablet's 2048x2732, a 4K desktop's
# 3840x2160 (8.3 MP). 4096 on the long side and 16 MP in all: decoded as RGBA, at most 64 MB.
MAX_SIDE = 4096
MAX_PIXELS = 16_000_000
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
MIMETYPES = {extension: mimetype for extension, mimetype in FORMATS.values()}
_KEY = re.compile(r"^[A-Za-z0-9_-]{32}\.(png|jpg|webp)$")


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    mimetype: str


def _read_limited(stream: Any) -> bytes:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError("screenshot: larger than 2 MB; send a smaller screenshot (PNG, JPEG or WebP)")
    if not data:
        raise ValidationError("screenshot: the file is empty")
    return data


def _decode(data: bytes) -> tuple[Image.Image, str]:
    """The decoded first frame and its format, or a ValidationError; never a Pillow exception."""
    refused = "screenshot: not a PNG, JPEG or WebP image"
    with warnings.catch_warnings():
        # Pillow warns (then errors) above its own pixel limit; ours is lower and checked first,
        # but a warning must never pass silently or (under pytest's filterwarnings=error) escape.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))  # the header only
            width, height = image.size
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                limit = MAX_PIXELS // 1_000_000
                raise ValidationError(
                    f"screenshot: {width}x{height} pixels is too large an image; at most {MAX_SIDE} pixels "
                    f"on the long side and {limit} megapixels"
                )
            image.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError("screenshot: the image declares too many pixels to be a screenshot") from None
        except UnidentifiedImageError:
            raise ValidationError(refused) from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
            raise ValidationError(f"{refused} (the file is damaged or cut short)") from None
    return image, image.format or ""


def _clean(image: Image.Image, image_format: str) -> Image.Image:
    """The pixels alone, without a copy of them: EXIF rotation applied in place, converted only
    when the mode must change, then every piece of metadata dropped (`info`, which is all the
    encoders read besides what `save` is given, and `encoderinfo`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        ImageOps.exif_transpose(image, in_place=True)
    if image_format == "JPEG":
        mode = "L" if image.mode in ("L", "1") else "RGB"
    elif image.mode in ("RGB", "RGBA", "L", "LA"):
        mode = image.mode
    else:  # palette, 16-bit, CMYK...: the transparency, if any, survives as alpha
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        mode = "RGBA" if has_alpha else "RGB"
    if image.mode != mode:
        converted = image.convert(mode)
        image.close()
        image = converted
    image.info = {}
    image.encoderinfo = {}
    return image


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        # No `optimize`: it keeps every DCT coefficient of the image in memory for a second pass
        # (about 45 MB more at 16 MP) to save a few per cent of the file.
        image.save(out, "JPEG", quality=90)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


# One decode at a time in this process: a worker's threads queue here rather than each holding
# an image's pixels at once (a decode and encode take well under a second).
_DECODING = threading.BoundedSemaphore(1)


def prepare(stream: Any) -> tuple[bytes, str]:
    """The re-encoded bytes and file extension of an upload, or a ValidationError."""
    data = _read_limited(stream)
    with _DECODING:
        image, image_format = _decode(data)
        del data
        try:
            image = _clean(image, image_format)
            return _encode(image, image_format), FORMATS[image_format][0]
        except (OSError, ValueError, MemoryError, Image.DecompressionBombWarning):
            raise ValidationError("screenshot: the image could not be read; send it again as PNG or JPEG") from None
        finally:
            image.close()


def store(file_storage: Any) -> str:
    """Check, clean and keep an uploaded screenshot (a werkzeug FileStorage or any object with
    `.stream` or `.read`); returns its key. Nothing is written when it is refused. Commits."""
    stream = getattr(file_storage, "stream", file_storage)
    body, extension = prepare(stream)
    key = f"{secrets.token_urlsafe(24)}.{extension}"
    db.session.add(ProofImage(key=key, mimetype=MIMETYPES[extension], data=body))
    db.session.commit()
    return key


def is_key(key: str | None) -> bool:
    return bool(key) and bool(_KEY.match(key or ""))


def open(key: str) -> StoredImage:  # noqa: A001  (the agreed name: store() and open())
    """The stored screenshot for `key`; NotFound for a malformed or unknown key."""
    row = db.session.get(ProofImage, key) if is_key(key) else None
    if row is None:
        raise NotFound("no such screenshot")
    return StoredImage(bytes(row.data), row.mimetype)


def delete(key: str) -> None:
    """Remove a stored screenshot (e.g. its proof could not be recorded after all). Commits."""
    if is_key(key):
        db.session.execute(db.delete(ProofImage).where(ProofImage.key == key))
        db.session.commit()
