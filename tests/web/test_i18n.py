"""The interface speaks English, German and Simplified Chinese: every string is in the catalogs,
every translation keeps its placeholders, and dates and numbers follow the reader's locale."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from agora.kit.time import utcnow
from agora.web import i18n
from tests.web.pages import form_post, signed_in

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [locale for locale in i18n.LOCALES if locale != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str | None, str]]:
    """Every translatable string in the code and templates right now (what `make messages` extracts)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_",
                                "--no-location", "-o", str(pot), str(ROOT)])
    with pot.open("rb") as f:
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(f) if m.id}


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_interface_string_is_translated(locale: str, source_messages: set[tuple[str | None, str]]) -> None:
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = (message.context, message.id if isinstance(message.id, str) else message.id[0])
        text = message.string if isinstance(message.string, str) else message.string[0]
        if text:
            translated[key] = message.string
    missing = sorted(source_messages - translated.keys())
    assert not missing, f"{len(missing)} strings lack a {locale} translation (run `make messages`): {missing[:10]}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_translations_keep_their_placeholders(locale: str) -> None:
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    for message in catalog:
        if not message.id or not message.string:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        source = sources[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = {a or b for text in sources for a, b in PLACEHOLDER.findall(text)}
        for text in strings:
            got = {a or b for a, b in PLACEHOLDER.findall(text)}
            # A plural form may drop %(num)d ("one post"), but must never invent a name the code does not pass.
            assert got <= wanted and (got == wanted or isinstance(message.id, tuple)), (locale, source, text)


def test_dates_and_numbers_follow_the_locale() -> None:
    now = utcnow()
    shown = {}
    for locale in i18n.LOCALES:
        i18n.use(locale)
        shown[locale] = (i18n.compact(12_345), i18n.number(1_234_567), i18n.ago(now - timedelta(minutes=5), now))
    i18n.use(i18n.DEFAULT)
    assert shown["en"] == ("12.3K", "1,234,567", "5m")
    assert shown["de"][1] == "1.234.567" and "5" in shown["de"][2] and shown["de"][2] != "5m"
    assert shown["zh_Hans"][0] == "1.2万" and shown["zh_Hans"][2] == "5分钟"


def test_locale_negotiation() -> None:
    assert i18n.negotiate(choice=None, accept_language="fr-CA,fr;q=0.9,de;q=0.8,en;q=0.7") == "de"
    assert i18n.negotiate(choice=None, accept_language="zh-TW") == "zh_Hans"
    assert i18n.negotiate(choice="en", accept_language="de") == "en"  # an explicit choice wins
    assert i18n.negotiate(choice="klingon", accept_language="") == "en"
    assert i18n.negotiate(choice=None, accept_language="de;q=0.1,en;q=0.9") == "en"


async def test_a_services_refusal_reaches_the_reader_in_their_language(client, alice) -> None:
    await signed_in(client, alice)
    client.cookies.set(i18n.LANG_COOKIE, "de")
    refused = await form_post(client, "/@alice", f"/web/accounts/{alice.id}/follow")
    assert refused.status_code == 403
    assert "Du kannst dir nicht selbst folgen." in refused.text and "<html lang=\"de\">" in refused.text
    stale = await client.post(f"/web/accounts/{alice.id}/follow", data={"csrf": "stale"},
                              headers={"HX-Request": "true"})
    assert stale.status_code == 403 and stale.text.startswith("Deine Sitzung ist abgelaufen")
