"""Image uploads: formats, previews, metadata stripping, descriptions and focus, attaching to posts,
and every way an upload can be wrong (each a 4xx JSON error that leaves no row and no file behind)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from agora.app import create_app
from agora.kit.runtime import Runtime
from agora.models import MediaAttachment
from tests.conftest import make_settings
from tests.factories import Member, make_member


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), *, mode: str = "RGB", color: object = (200, 30, 30),
                **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (40, 30), (i * 60, 255 - i * 60, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def noisy_png(side: int) -> bytes:
    """A PNG that does not compress (random pixels), so its size is about side*side*3 bytes."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


async def upload(client: httpx.AsyncClient, who: Member, data: bytes, filename: str = "photo.png",
                 content_type: str = "image/png", path: str = "/api/v2/media", **fields) -> httpx.Response:
    return await client.post(path, headers=who.headers, files={"file": (filename, data, content_type)},
                             data=fields)


async def uploaded(client: httpx.AsyncClient, who: Member, data: bytes, filename: str = "photo.png",
                   **fields) -> dict:
    response = await upload(client, who, data, filename, **fields)
    assert response.status_code == 200, response.text
    return response.json()


async def media_rows(runtime: Runtime) -> int:
    async with runtime.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(MediaAttachment)) or 0)


def stored_files(runtime: Runtime) -> list[Path]:
    root = runtime.settings.media_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def fetch(client: httpx.AsyncClient, url: str) -> httpx.Response:
    assert url.startswith("http://testserver/media/"), url
    response = await client.get(url)
    assert response.status_code == 200, url
    return response


# --- formats ------------------------------------------------------------------------------------------

FORMATS = [
    ("JPEG", "photo.jpg", "image/jpeg", {}),
    ("PNG", "photo.png", "image/png", {}),
    ("WEBP", "photo.webp", "image/webp", {}),
    ("GIF", "photo.gif", "image/gif", {}),
]


@pytest.mark.parametrize(("fmt", "filename", "content_type", "save"), FORMATS, ids=[f[0] for f in FORMATS])
async def test_upload_each_format_and_serve_it(client, runtime: Runtime, alice: Member, fmt: str, filename: str,
                                               content_type: str, save: dict) -> None:
    data = image_bytes(fmt, (64, 48), **save)
    # The declared type and name are not trusted: a JPEG sent as "application/octet-stream" is still a JPEG.
    response = await upload(client, alice, data, filename, content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    media = response.json()
    assert media["type"] == "image"
    assert media["meta"]["original"]["width"] == 64 and media["meta"]["original"]["height"] == 48
    assert media["description"] is None
    original = await fetch(client, media["url"])
    assert original.headers["content-type"] == content_type
    assert Image.open(io.BytesIO(original.content)).format == fmt
    preview = await fetch(client, media["preview_url"])
    assert preview.headers["content-type"] in ("image/jpeg", "image/png")
    assert Image.open(io.BytesIO(preview.content)).size == (64, 48)  # small images are not enlarged
    # Only its owner can read the record.
    own = await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)
    assert own.status_code == 200 and own.json()["url"] == media["url"]
    assert await media_rows(runtime) == 1


async def test_upload_v1_endpoint_and_description_on_upload(client, alice: Member) -> None:
    response = await upload(client, alice, image_bytes("PNG"), path="/api/v1/media",
                            description="a red square", focus="0.25,0.75")
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "a red square"
    assert response.json()["meta"]["focus"] == {"x": 0.25, "y": 0.75}


async def test_animated_gif_keeps_its_frames(client, alice: Member) -> None:
    media = await uploaded(client, alice, animated_gif(4), "anim.gif")
    original = await fetch(client, media["url"])
    assert original.headers["content-type"] == "image/gif"
    served = Image.open(io.BytesIO(original.content))
    assert served.is_animated and served.n_frames == 4
    preview = Image.open(io.BytesIO((await fetch(client, media["preview_url"])).content))
    assert preview.size == (40, 30)


async def test_transparent_png_keeps_alpha_in_its_preview(client, alice: Member) -> None:
    media = await uploaded(client, alice, image_bytes("PNG", (1000, 500), mode="RGBA", color=(0, 0, 255, 0)))
    preview = Image.open(io.BytesIO((await fetch(client, media["preview_url"])).content))
    assert preview.format == "PNG" and preview.mode in ("RGBA", "LA", "P")


@pytest.mark.parametrize(("size", "expected"), [((2000, 1000), (640, 320)), ((900, 3000), (192, 640)),
                                                 ((640, 640), (640, 640))])
async def test_preview_is_at_most_640_on_the_longest_side(client, alice: Member, size: tuple[int, int],
                                                          expected: tuple[int, int]) -> None:
    media = await uploaded(client, alice, image_bytes("JPEG", size), "big.jpg")
    preview = Image.open(io.BytesIO((await fetch(client, media["preview_url"])).content))
    assert preview.size == expected
    assert max(preview.size) <= 640
    assert (media["meta"]["small"]["width"], media["meta"]["small"]["height"]) == expected
    original = Image.open(io.BytesIO((await fetch(client, media["url"])).content))
    assert original.size == size  # the original keeps its resolution


async def test_exif_is_stripped_and_orientation_applied(client, alice: Member) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam Inc."  # Make
    gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8825] = gps  # GPSInfo
    data = image_bytes("JPEG", (80, 40), exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the fixture carries GPS data"
    media = await uploaded(client, alice, data, "holiday.jpg")
    served = (await fetch(client, media["url"])).content
    stored = Image.open(io.BytesIO(served))
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    assert b"SpyCam" not in served and b"Exif" not in served
    assert stored.size == (40, 80)  # the camera's rotation was applied before the metadata went
    assert (media["meta"]["original"]["width"], media["meta"]["original"]["height"]) == (40, 80)
    preview = (await fetch(client, media["preview_url"])).content
    assert b"SpyCam" not in preview and dict(Image.open(io.BytesIO(preview)).getexif()) == {}


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SECRET camera"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    return exif.tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET exif:GPSLatitude="52,31N"</x:xmpmeta>'


def _gif_with_xmp(gif: bytes) -> bytes:
    """Add an XMP application extension (as image editors write it) and junk after the trailer."""
    flags = gif[10]
    at = 13 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)
    blocks = b"".join(bytes([len(XMP[i:i + 255])]) + XMP[i:i + 255] for i in range(0, len(XMP), 255))
    return gif[:at] + b"\x21\xff\x0bXMP DataXMP" + blocks + b"\x00" + gif[at:] + b"SECRET after the end"


def _png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "SECRET Name")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return image_bytes("PNG", pnginfo=info, exif=_exif())


def _gif(comment: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 0)).save(out, "GIF", comment=comment)
    return out.getvalue()


def _animated_gif_with_comment() -> bytes:
    frames = [Image.new("RGB", (40, 30), (i * 60, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0,
                   comment=b"SECRET comment")
    return _gif_with_xmp(out.getvalue())


METADATA = {
    "jpeg exif and xmp": (lambda: image_bytes("JPEG", exif=_exif(), xmp=XMP), "a.jpg"),
    "png text, xmp and exif": (_png_with_text, "a.png"),
    "webp exif and xmp": (lambda: image_bytes("WEBP", exif=_exif(), xmp=XMP), "a.webp"),
    "gif comment and xmp": (lambda: _gif_with_xmp(_gif(b"SECRET comment")), "a.gif"),
    "animated gif comment and xmp": (_animated_gif_with_comment, "a.gif"),
}


@pytest.mark.parametrize("case", list(METADATA))
async def test_metadata_is_stripped_from_every_format(client, alice: Member, case: str) -> None:
    make, filename = METADATA[case]
    data = make()
    assert b"SECRET" in data, "the fixture carries metadata"
    media = await uploaded(client, alice, data, filename)
    for url in (media["url"], media["preview_url"]):
        served = (await fetch(client, url)).content
        assert b"SECRET" not in served, url
        assert b"GPS" not in served
        Image.open(io.BytesIO(served)).verify()  # still a valid image


async def test_animated_gif_keeps_timing_and_loop_when_stripped(client, alice: Member) -> None:
    media = await uploaded(client, alice, _animated_gif_with_comment(), "a.gif")
    served = Image.open(io.BytesIO((await fetch(client, media["url"])).content))
    frames = []
    for index in range(served.n_frames):
        served.seek(index)
        frames.append((served.info["duration"], served.convert("RGB").getpixel((0, 0))))
    assert frames == [(100, (0, 0, 0)), (200, (60, 0, 0)), (300, (120, 0, 0))]
    assert served.info["loop"] == 0


# --- describing ----------------------------------------------------------------------------------------


async def test_put_description_and_focus(client, alice: Member) -> None:
    media = await uploaded(client, alice, image_bytes("PNG"))
    updated = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers,
                               json={"description": "A red square on nothing", "focus": "0.5,-0.3"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["description"] == "A red square on nothing"
    assert updated.json()["meta"]["focus"] == {"x": 0.5, "y": -0.3}
    again = (await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)).json()
    assert again["description"] == "A red square on nothing" and again["meta"]["focus"] == {"x": 0.5, "y": -0.3}


@pytest.mark.parametrize("focus", ["1.5,0", "0,-1.01", "nan,0", "inf,0", "0.5", "a,b", "0.1,0.2,0.3", ",", "1e9,0"])
async def test_bad_focus_is_refused(client, alice: Member, focus: str) -> None:
    media = await uploaded(client, alice, image_bytes("PNG"), focus="0.1,0.1")
    refused = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers, json={"focus": focus})
    assert refused.status_code == 422, refused.text
    assert "error" in refused.json()
    kept = (await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)).json()
    assert kept["meta"]["focus"] == {"x": 0.1, "y": 0.1}
    on_upload = await upload(client, alice, image_bytes("PNG"), focus=focus)
    assert on_upload.status_code == 422 and "error" in on_upload.json()


async def test_too_long_or_wrong_typed_description_is_refused(client, alice: Member) -> None:
    media = await uploaded(client, alice, image_bytes("PNG"), description="short")
    for body in ({"description": "x" * 1501}, {"description": ["a"]}, {"description": 5}):
        refused = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers, json=body)
        assert refused.status_code == 422 and "error" in refused.json(), body
    assert (await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)).json()["description"] == "short"
    assert (await upload(client, alice, image_bytes("PNG"), description="x" * 1501)).status_code == 422


# --- attaching -----------------------------------------------------------------------------------------


async def test_attach_to_a_status(client, alice: Member) -> None:
    first = await uploaded(client, alice, image_bytes("PNG"), description="first")
    second = await uploaded(client, alice, image_bytes("JPEG"), "b.jpg", description="second")
    response = await client.post("/api/v1/statuses", headers=alice.headers,
                                 json={"status": "look", "media_ids": [second["id"], first["id"]]})
    assert response.status_code == 200, response.text
    attached = response.json()["media_attachments"]
    assert [(m["id"], m["description"]) for m in attached] == [(second["id"], "second"), (first["id"], "first")]
    assert attached[0]["url"] == second["url"]
    fetched = (await client.get(f"/api/v1/statuses/{response.json()['id']}")).json()
    assert [m["id"] for m in fetched["media_attachments"]] == [second["id"], first["id"]]
    # Once attached, it cannot be attached to another post.
    reused = await client.post("/api/v1/statuses", headers=alice.headers,
                               json={"status": "again", "media_ids": [first["id"]]})
    assert reused.status_code == 422 and "error" in reused.json()


async def test_post_with_only_media_and_no_text(client, alice: Member) -> None:
    media = await uploaded(client, alice, image_bytes("PNG"))
    response = await client.post("/api/v1/statuses", headers=alice.headers, data={"media_ids[]": media["id"]})
    assert response.status_code == 200, response.text
    assert [m["id"] for m in response.json()["media_attachments"]] == [media["id"]]


async def test_edit_changes_media_and_descriptions(client, alice: Member) -> None:
    first = await uploaded(client, alice, image_bytes("PNG"))
    second = await uploaded(client, alice, image_bytes("PNG"))
    status = (await client.post("/api/v1/statuses", headers=alice.headers,
                                json={"status": "pics", "media_ids": [first["id"]]})).json()
    edited = await client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={
        "status": "pics", "media_ids": [second["id"]],
        "media_attributes": [{"id": second["id"], "description": "now described"}]})
    assert edited.status_code == 200, edited.text
    assert [(m["id"], m["description"]) for m in edited.json()["media_attachments"]] == [
        (second["id"], "now described")]


async def test_someone_elses_media_cannot_be_used(client, alice: Member, bob: Member) -> None:
    media = await uploaded(client, alice, image_bytes("PNG"), description="alice's")
    stolen = await client.post("/api/v1/statuses", headers=bob.headers,
                               json={"status": "mine now", "media_ids": [media["id"]]})
    assert stolen.status_code in (404, 422) and "error" in stolen.json()
    changed = await client.put(f"/api/v1/media/{media['id']}", headers=bob.headers, json={"description": "bob's"})
    assert changed.status_code in (404, 422) and "error" in changed.json()
    assert (await client.get(f"/api/v1/media/{media['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)).json()["description"] == "alice's"
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=bob.headers)).json()
    assert me["statuses_count"] == 0
    # Alice can still use it: bob's failed attempt did not attach it anywhere.
    ok = await client.post("/api/v1/statuses", headers=alice.headers,
                           json={"status": "mine", "media_ids": [media["id"]]})
    assert ok.status_code == 200


async def test_more_than_four_media_is_refused(client, alice: Member) -> None:
    ids = [(await uploaded(client, alice, image_bytes("PNG")))["id"] for _ in range(5)]
    refused = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "five", "media_ids": ids})
    assert refused.status_code == 422 and "error" in refused.json()
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["statuses_count"] == 0
    four = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "four", "media_ids": ids[:4]})
    assert four.status_code == 200 and len(four.json()["media_attachments"]) == 4


async def test_upload_needs_a_token_and_a_file(client, alice: Member) -> None:
    anonymous = await client.post("/api/v2/media", files={"file": ("a.png", image_bytes("PNG"), "image/png")})
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    no_file = await client.post("/api/v2/media", headers=alice.headers, data={"description": "nothing"})
    assert no_file.status_code == 422 and "error" in no_file.json()
    as_text = await client.post("/api/v2/media", headers=alice.headers, data={"file": "not a file"})
    assert as_text.status_code == 422 and "error" in as_text.json()
    as_json = await client.post("/api/v2/media", headers=alice.headers, json={"file": "aGVsbG8="})
    assert as_json.status_code == 422 and "error" in as_json.json()


# --- bad files -----------------------------------------------------------------------------------------

BAD_FILES = {
    "broken bytes": (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, "broken.png"),
    "truncated jpeg": (image_bytes("JPEG", (300, 300))[:400], "cut.jpg"),
    "text named png": (b"hello, I am plainly text\n" * 20, "notes.png"),
    "empty file": (b"", "empty.png"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
    "bmp": (image_bytes("BMP"), "old.bmp"),
    "tiff": (image_bytes("TIFF"), "scan.tiff"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_files_are_refused_without_a_trace(client, runtime: Runtime, alice: Member, case: str) -> None:
    data, filename = BAD_FILES[case]
    response = await upload(client, alice, data, filename)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["error"], str) and response.json()["error"]
    assert await media_rows(runtime) == 0
    assert stored_files(runtime) == []


async def test_decompression_bomb_is_refused(client, runtime: Runtime, alice: Member) -> None:
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000), 0).save(bomb, "PNG")  # 400 megapixels of one colour
    data = bomb.getvalue()
    assert len(data) < runtime.settings.max_image_bytes // 100  # tiny on the wire
    assert runtime.settings.max_image_pixels < 20000 * 20000
    response = await upload(client, alice, data, "bomb.png")
    assert response.status_code in (400, 413, 422), response.text
    assert "error" in response.json()
    assert await media_rows(runtime) == 0
    assert stored_files(runtime) == []


# --- limits from the settings --------------------------------------------------------------------------


@pytest.fixture
async def small_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = make_settings(database_url, tmp_path / "small", max_image_bytes=20_000, max_image_pixels=10_000)
    application = create_app(settings)
    runtime: Runtime = application.state.runtime
    await runtime.start()
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, runtime
    await runtime.stop()


@pytest.mark.parametrize(("case", "expected"), [
    ("over max_image_bytes", 413),
    ("over max_image_pixels", 413),
    ("just over max_image_pixels", 413),  # under Pillow's own 2x threshold: still refused
    ("within the limits", 200),
])
async def test_configured_limits(small_app, case: str, expected: int) -> None:
    client, runtime = small_app
    member = await make_member(runtime, "limited")
    data = {
        "over max_image_bytes": noisy_png(90),                 # ~24 KB of pixels that do not compress
        "over max_image_pixels": image_bytes("PNG", (300, 300)),  # 90,000 pixels, a few hundred bytes
        "just over max_image_pixels": image_bytes("PNG", (101, 100)),
        "within the limits": image_bytes("PNG", (100, 100)),
    }[case]
    if case == "over max_image_bytes":
        assert len(data) > runtime.settings.max_image_bytes
    response = await upload(client, member, data)
    assert response.status_code == expected, response.text
    if expected != 200:
        assert "error" in response.json()
        assert await media_rows(runtime) == 0
        assert stored_files(runtime) == []
    else:
        assert await media_rows(runtime) == 1


async def test_body_over_max_request_bytes_is_413(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "tiny", max_request_bytes=50_000)
    application = create_app(settings)
    runtime: Runtime = application.state.runtime
    await runtime.start()
    try:
        member = await make_member(runtime, "uploader")
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await upload(client, member, noisy_png(150))
            assert response.status_code == 413 and "error" in response.json()
            assert await media_rows(runtime) == 0
    finally:
        await runtime.stop()


async def test_media_file_names_cannot_be_guessed_from_the_id(client, alice: Member) -> None:
    media = (await client.post("/api/v2/media", headers=alice.headers,
                               files={"file": ("a.png", image_bytes("PNG"), "image/png")})).json()
    name = media["url"].rsplit("/", 1)[1]
    assert name.startswith(media["id"] + "-")
    assert len(name.split(".")[0]) >= len(media["id"]) + 16  # an unguessable part follows the id
    assert (await client.get(media["url"].replace("http://testserver", ""))).status_code == 200
