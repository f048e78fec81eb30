"""Plain text as typed → safe HTML: paragraphs, line breaks, links, @mentions and #hashtags.

Everything a member types is escaped first; only the markup we add survives, and nh3 cleans the
result once more so no path lets a script through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import nh3

# @user (a local member). \w is Unicode-aware, but usernames are ASCII; stop at the first non-name char.
MENTION_RE = re.compile(r"(?<![\w/@])@([A-Za-z0-9_]{1,30})(?![\w@])")
# #tag: letters of any script, digits, underscore; not only digits.
MAX_TAG = 100
HASHTAG_RE = re.compile(r"(?<![\w/&#])#(\w{1,100})", re.UNICODE)
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)

_ALLOWED_TAGS = {"p", "br", "a", "span"}
_ALLOWED_ATTRS = {"a": {"href", "class", "rel", "target", "translate"}, "span": {"class", "translate"}}


def extract_mentions(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).lower(), match.group(1))
    return list(seen.values())


def extract_hashtags(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for match in HASHTAG_RE.finditer(_strip_urls(text)):
        tag = match.group(1)
        key = tag.casefold()  # may be longer than the tag ("ß" → "ss"); tags are stored by it, up to 100
        if not tag.isdigit() and len(key) <= MAX_TAG:
            seen.setdefault(key, tag)
    return list(seen.values())


def _strip_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


def render(
    text: str,
    *,
    mention_url: Callable[[str], str | None],
    tag_url: Callable[[str], str],
) -> str:
    """HTML for `text`. `mention_url(username)` returns a profile URL, or None for no such member."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = "".join(f"<p>{_render_inline(p, mention_url, tag_url)}</p>" for p in paragraphs)
    return sanitize(rendered)


def _render_inline(text: str, mention_url: Callable[[str], str | None], tag_url: Callable[[str], str]) -> str:
    out: list[str] = []
    pos = 0
    # One pass over the three token kinds, earliest first, so a URL's "#fragment" is never a tag.
    pattern = re.compile(f"(?P<url>{URL_RE.pattern})|(?P<mention>{MENTION_RE.pattern})|(?P<tag>{HASHTAG_RE.pattern})",
                         re.IGNORECASE | re.UNICODE)
    for match in pattern.finditer(text):
        out.append(_escape_lines(text[pos:match.start()]))
        token = match.group(0)
        if match.group("url"):
            href = html.escape(token, quote=True)
            shown = html.escape(token.split("://", 1)[1][:40] + ("…" if len(token.split("://", 1)[1]) > 40 else ""))
            out.append(f'<a href="{href}" rel="nofollow noopener noreferrer" target="_blank">{shown}</a>')
        elif match.group("mention"):
            name = token[1:]
            url = mention_url(name)
            if url is None:
                out.append(html.escape(token))
            else:
                out.append(
                    f'<span class="h-card" translate="no"><a href="{html.escape(url, quote=True)}" '
                    f'class="u-url mention">@<span>{html.escape(name)}</span></a></span>'
                )
        else:
            tag = token[1:]
            if tag.isdigit():
                out.append(html.escape(token))
            else:
                out.append(
                    f'<a href="{html.escape(tag_url(tag), quote=True)}" class="mention hashtag" rel="tag">'
                    f"#<span>{html.escape(tag)}</span></a>"
                )
        pos = match.end()
    out.append(_escape_lines(text[pos:]))
    return "".join(out)


def _escape_lines(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def sanitize(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRS,
        url_schemes={"http", "https"},
        link_rel=None,
    )


def to_plain(markup: str) -> str:
    """Visible text of our own HTML (for previews and notifications)."""
    text = re.sub(r"<br\s*/?>", "\n", markup)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))
