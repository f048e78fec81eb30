"""Pure image work (Pillow, run in a thread): decode safely, strip metadata, make previews."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from agora.kit.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
           "GIF": ("image/gif", "gif")}


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    content_type: str
    extension: str
    original: bytes
    width: int
    height: int
    preview: bytes  # always JPEG or PNG, small enough for timelines
    preview_extension: str
    preview_width: int
    preview_height: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    # Pillow's own decompression-bomb guard, with our limit; a bomb is a client error, not a crash.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            probe.verify()  # catches truncated and corrupt files before we decode them
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge(f"image has more than {max_pixels} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnsupportedMediaType("file is not a supported image (JPEG, PNG, WebP or GIF)") from None
    if image.format not in FORMATS:
        raise UnsupportedMediaType("file is not a supported image (JPEG, PNG, WebP or GIF)")
    if image.width * image.height > max_pixels:
        raise PayloadTooLarge(f"image has more than {max_pixels} pixels")
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, fmt, optimize=True)
    return out.getvalue()


def _preview(image: Image.Image, max_side: int) -> tuple[bytes, str, int, int]:
    frame = image.copy()
    frame.thumbnail((max_side, max_side))
    has_alpha = frame.mode in ("RGBA", "LA", "P")
    fmt, ext = ("PNG", "png") if has_alpha else ("JPEG", "jpg")
    if fmt == "PNG" and frame.mode == "P":
        frame = frame.convert("RGBA")
    return _encode(frame, fmt), ext, frame.width, frame.height


def process_upload(data: bytes, *, max_bytes: int, max_pixels: int, preview_side: int) -> ProcessedImage:
    if not data:
        raise Unprocessable("file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"file is larger than {max_bytes} bytes")
    image = _open(data, max_pixels)
    fmt = image.format or "PNG"
    content_type, extension = FORMATS[fmt]
    if fmt == "GIF" and getattr(image, "is_animated", False):
        original = data  # re-encoding would drop frames; GIF carries no EXIF location data
    else:
        image = ImageOps.exif_transpose(image)  # honour the camera's rotation, then drop all metadata
        original = _encode(image, fmt)
    preview, preview_ext, pw, ph = _preview(image, preview_side)
    return ProcessedImage(content_type, extension, original, image.width, image.height, preview, preview_ext, pw, ph)


def process_profile_image(data: bytes, *, size: tuple[int, int], max_bytes: int, max_pixels: int) -> bytes:
    """Avatars and headers: cropped to `size`, PNG (keeps transparency), no metadata."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"file is larger than {max_bytes} bytes")
    image = ImageOps.exif_transpose(_open(data, max_pixels))
    fitted = ImageOps.fit(image.convert("RGBA"), size)
    return _encode(fitted, "PNG")
