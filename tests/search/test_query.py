"""The search box's syntax: what a member types, and what the search will look for."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from agora.search.lexical import fts5_expression, tsquery_expression
from agora.search.query import BadQuery, parse
from agora.search.tokenize import document_tokens, query_tokens


def test_words_phrases_and_operators_are_told_apart() -> None:
    q = parse('coffee "flat white" from:Mara #Brunch since:2026-12-01 until:2026-12-04 lang:DE')
    assert q.terms == ["coffee"]
    assert q.phrases == ["flat white"]
    assert q.from_users == ["mara"]
    assert q.tags == ["brunch"]
    assert (q.since, q.until) == (date(2026, 12, 1), date(2026, 12, 4))
    assert q.lang == "de"
    assert q.text == "coffee flat white Brunch"  # what semantic search gets: no operators


def test_from_a_full_handle_means_the_local_member() -> None:
    assert parse("from:@mara@example.org").from_users == ["mara"]


def test_an_unclosed_quote_runs_to_the_end() -> None:
    q = parse('tea "green jasmine')
    assert q.terms == ["tea"] and q.phrases == ["green jasmine"]
    assert parse('"').is_empty and parse('""  "').is_empty


def test_an_empty_query_is_empty() -> None:
    assert parse("").is_empty and parse("   ").is_empty


@pytest.mark.parametrize("q, says", [
    ("since:2026-13-01", "not a date"),
    ("since:yesterday", "YYYY-MM-DD"),
    ("until:2026-02-30", "not a date"),
    ("since:2026-12-05 until:2026-12-01", "earlier day"),
    ("lang:english!", "language code"),
    ("from:no/such", "username"),
    ("x" * 513, "too long"),
    ("a " * 40, "too many parts"),
])
def test_malformed_queries_say_what_is_wrong(q: str, says: str) -> None:
    with pytest.raises(BadQuery) as caught:
        parse(q)
    assert caught.value.status_code == 422
    assert says in caught.value.message


@pytest.mark.parametrize("q", ['"', "*", "NEAR(a b)", "text:foo", ") OR (", "'; DROP TABLE statuses; --",
                               "a AND b OR c NOT d", "^foo", "col:\"x\"", "{body}: x", "\\'\\\""])
def test_typed_fts_syntax_becomes_plain_quoted_words(q: str) -> None:
    parsed = parse(q)
    parts = [query_tokens(p) for p in [*parsed.terms, *parsed.phrases]]
    parts = [p for p in parts if p]
    expression = fts5_expression(parts)
    # Every token is alphanumeric, so the only syntax in the expression is ours: quotes around each
    # part and AND between parts.
    for part in parts:
        for token in part:
            assert all(unicodedata.category(c)[0] in "LNM" for c in token), token
    assert expression.count('"') == 2 * len(parts)
    assert tsquery_expression(parts).count("'") == 2 * sum(len(p) for p in parts)


def test_chinese_is_indexed_as_bigrams_and_single_characters() -> None:
    tokens = document_tokens("我们今天去公园")
    assert query_tokens("公园") == ["公园"]
    assert "公园" in tokens and "园" in tokens
    # A longer query is the phrase of its bigrams, which the document has in the same order.
    phrase = query_tokens("今天去公园")
    start = tokens.index(phrase[0])
    assert tokens[start:start + len(phrase)] == phrase


def test_mixed_scripts_accents_and_case_fold_the_same_way_for_documents_and_queries() -> None:
    assert document_tokens("Café iPhone15を買った")[:2] == ["cafe", "iphone15"]
    assert query_tokens("CAFÉ") == ["cafe"]
    assert query_tokens("を買") == ["を買"]
    assert query_tokens("नमस्ते") == ["नमस्ते"]  # vowel signs stay inside the word
