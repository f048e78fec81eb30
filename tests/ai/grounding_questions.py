"""Hand-written questions for the grounding evaluation (tests/ai/test_grounding.py), over the demo
community (agora/demo/data/posts).

Written by reading the demo posts, before measuring: each question is one a member could ask, and
`relevant` names the posts that answer it (or take a side on it), by their stable keys in the demo
data (`city-001` …), resolved to status ids at test time by author and text as the search relevance
evaluation does. Only public posts are named, so the demo member may see every one (the test checks).
`UNANSWERABLE` questions have no answer anywhere in the demo: the assistant should say so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Question:
    q: str
    relevant: frozenset[str]


def _q(q: str, *keys: str) -> Question:
    return Question(q, frozenset(keys))


QUESTIONS: tuple[Question, ...] = (
    _q("When does the Canal Street bike lane consultation close?", "city-001", "city-002"),
    _q("How did the council vote on the Canal Street bike lane?", "city-015", "city-016", "city-017"),
    _q("When will construction of the Canal Street bike lane start?", "city-023", "city-055"),
    _q("How strong will the wind be on Thursday in Eastbridge?", "city-026", "city-027"),
    _q("Is the library still closing on Mondays?", "city-039", "city-042", "city-043"),
    _q("How much will the night market pitch fee go up?", "city-052", "city-053"),
    _q("Which bus goes from the station to the Old Wharf?", "city-047", "city-048"),
    _q("How do I look after a sourdough starter if my schedule is chaotic?", "food-005", "food-006", "food-007"),
    _q("Is pineapple on pizza good?", "food-013", "food-014", "food-015", "food-017", "food-018"),
    _q("Where can I get good bread and coffee in Eastbridge?", "food-039", "food-040", "food-041"),
    _q("What is a cheap recipe for dal?", "food-022", "food-023"),
    _q("How do I recognise a scam message asking for money?", "money-014", "money-015", "money-016", "money-017",
       "money-018"),
    _q("How much do card payment fees cost a small shop?", "money-019", "money-020", "money-021", "money-022"),
    _q("Why did the price of the sourdough loaf go up?", "money-023", "money-024", "money-025"),
    _q("What was Kemi's marathon finishing time?", "sport-014", "sport-016"),
    _q("How should I maintain my bike in autumn?", "sport-042", "sport-043", "sport-044"),
    _q("What do people think about VAR in football?", "sport-037", "sport-038", "sport-039", "sport-040"),
    _q("How can I stop my posts being used to train the AI model?", "tech-017", "tech-018", "tech-058", "tech-061"),
    _q("How many parameters does agora-small-v1 have?", "tech-001", "tech-055", "tech-057"),
    _q("Does remote work make you a better engineer?", "tech-039", "tech-040", "tech-041", "tech-042", "tech-043"),
    _q("What book should I read on a long train journey?", "culture-037", "culture-038", "culture-039"),
    _q("When does the Harbourmaster Kickstarter go live?", "culture-051"),
    _q("How far away is the Andromeda galaxy?", "culture-022"),
    _q("Can I get a flu jab if I have a cold?", "culture-030"),
)

# Nothing in the demo answers these; the right answer is "I found no posts…".
UNANSWERABLE: tuple[str, ...] = (
    "What is the capital of Australia?",
    "How do I renew my passport?",
    "Who won the 1966 World Cup final?",
    "What is the boiling point of mercury?",
    "Who wrote War and Peace?",
    "What is the best way to invest in bonds?",
    "How do I fix a leaking car radiator?",
    "What did the central bank decide about interest rates?",
    "When is the next solar eclipse in Chile?",
    "How tall is Mount Kilimanjaro?",
    "What is the population of Lagos?",
)
