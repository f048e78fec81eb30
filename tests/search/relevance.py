"""The judged query set for the relevance evaluation, over the demo community (agora/demo/data).

Written by hand, before measuring: for each query, the demo posts a person typing it would be glad
to find. Posts are named by their stable key in the demo data files (`city-001`, `food-022` …),
resolved to status ids at test time by author and text. Relevance is binary. Only public posts are
judged (the evaluation searches as an anonymous visitor, who may find nothing else); the test fails
if a judgment names a post that is not public, so a judgment cannot silently point at nothing.

The kinds are a label for the report only: `keyword` (the words are in the posts), `semantic` (a
paraphrase: the posts say it in other words), `hashtag`, `from` (an operator with words), `cjk`
(Chinese, which the sentence-embedding model does not understand), `cross-lingual`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Judged:
    q: str
    kind: str
    relevant: frozenset[str]


def _j(q: str, kind: str, *keys: str) -> Judged:
    return Judged(q, kind, frozenset(keys))


QUERIES: tuple[Judged, ...] = (
    # --- keyword: the words a person types are in the posts -----------------------------------
    _j("bike lane", "keyword",
       "city-001", "city-002", "city-006", "city-010", "city-012", "city-015", "city-016", "city-019",
       "city-021", "city-023", "tech-060"),
    _j("sourdough starter", "keyword", "food-001", "food-003", "food-005", "food-006", "food-007"),
    _j("book club", "keyword",
       "culture-007", "culture-008", "culture-009", "culture-010", "culture-013", "culture-037", "money-045"),
    _j("remote work", "keyword", "tech-039", "tech-040", "tech-041", "tech-042", "tech-043", "tech-044"),
    _j("jollof rice", "keyword", "food-050", "food-051", "food-052", "food-053"),
    _j("pineapple on pizza", "keyword", "food-013", "food-014", "food-015", "food-016", "food-017", "food-018"),
    _j("night market", "keyword",
       "city-046", "city-047", "city-048", "city-052", "food-016", "food-020"),
    _j("jazz at the Blue Lantern", "keyword",
       "culture-001", "culture-004", "culture-006", "culture-047", "culture-050", "money-038"),
    _j("bike maintenance", "keyword", "sport-042", "sport-043", "sport-044", "city-033"),
    # --- semantic: the same thing said in other words -----------------------------------------
    _j("weather forecast for the weekend", "semantic",
       "city-026", "city-028", "city-029", "city-030", "city-031", "city-032", "sport-013"),
    _j("storm warning with strong gusts of wind", "semantic", "city-026", "city-027"),
    _j("how do I recognise a scam message asking for money", "semantic",
       "money-014", "money-015", "money-016", "money-017", "money-018"),
    _j("stargazing and looking at planets", "semantic", "culture-019", "culture-021", "culture-022", "city-049"),
    _j("what novel should I take on a long train ride", "semantic",
       "culture-036", "culture-037", "culture-038", "culture-039"),
    _j("girls youth football team results", "semantic",
       "sport-023", "sport-025", "sport-026", "sport-027", "sport-028", "sport-030", "sport-032", "sport-033",
       "sport-048", "sport-049"),
    _j("training a small language model on the instance's posts", "semantic",
       "tech-001", "tech-003", "tech-005", "tech-006", "tech-013", "tech-018", "tech-030", "tech-055"),
    _j("can I stop my posts being used to train AI", "semantic",
       "tech-017", "tech-018", "tech-019", "tech-058", "tech-060", "tech-061"),
    _j("council wants to cut library opening days", "semantic",
       "city-039", "city-040", "city-041", "city-042", "city-043"),
    _j("cyclist crashed into a car door", "semantic", "city-036", "city-037", "city-038"),
    _j("nervous before a coding job interview", "semantic", "tech-048", "tech-049", "tech-050"),
    _j("what small shops pay to accept card payments", "semantic", "money-019", "money-020", "money-021", "money-022"),
    _j("cheap healthy meals on a tight budget", "semantic", "food-022", "food-023", "food-024", "food-054"),
    _j("video referee taking too long", "cross-lingual", "sport-037", "sport-038", "sport-039", "sport-040",
       "de-022"),
    # --- operators ----------------------------------------------------------------------------
    _j("#EastbridgeWeather", "hashtag",
       "city-026", "city-028", "city-029", "city-030", "city-031", "city-032", "sport-013"),
    _j("from:kemi_runs marathon", "from",
       "sport-001", "sport-003", "sport-011", "sport-012", "sport-014", "sport-020", "sport-022", "money-036",
       "food-029"),
    _j("from:eb_weather rain", "from", "city-026", "city-030", "city-031"),
    # --- Chinese: keyword search's bigrams find it; the English embedding model does not ------
    _j("马拉松", "cjk", "zh-020", "zh-033", "zh-055", "zh-056", "zh-067"),
)
