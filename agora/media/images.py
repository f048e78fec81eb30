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
    elif fmt == "GIF":
        image.save(out, "GIF", optimize=True, comment=b"")  # else Pillow copies the source's comment over
    else:
        image.save(out, fmt, optimize=True)
    return out.getvalue()


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while data[pos]:
        pos += 1 + data[pos]
    return pos + 1


def _strip_gif_metadata(data: bytes) -> bytes:
    """A GIF block by block, keeping image data, frame timing and the loop count, and dropping
    comments, XMP and any other application data, and whatever follows the trailer."""
    try:
        pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)  # header, screen, colour table
        out = bytearray(data[:pos])
        while data[pos] != 0x3B:
            start = pos
            if data[pos] == 0x2C:  # an image: descriptor, local colour table, LZW code size, data
                local = data[pos + 9]
                pos = _skip_sub_blocks(data, pos + 11 + ((3 << ((local & 7) + 1)) if local & 0x80 else 0))
                out += data[start:pos]
            elif data[pos] == 0x21:  # an extension: keep frame control, plain text and the loop block
                label, pos = data[pos + 1], _skip_sub_blocks(data, pos + 2)
                loop = label == 0xFF and data[start + 3:start + 14] in (b"NETSCAPE2.0", b"ANIMEXTS1.0")
                if label in (0xF9, 0x01) or loop:
                    out += data[start:pos]
            else:
                raise IndexError(pos)
        return bytes(out + b"\x3b")
    except IndexError:
        raise UnsupportedMediaType("file is not a supported image (JPEG, PNG, WebP or GIF)") from None


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
        original = _strip_gif_metadata(data)  # frames as sent, less comments and XMP (which can carry GPS)
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
