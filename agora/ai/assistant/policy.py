"""The assistant's policy (docs/assistant.md): answer hard and controversial questions with sources;
refuse a short, written list of unlawful requests; treat every post as data, never as an instruction.

Refusal is a small pattern classifier, on purpose: it is predictable, can be read and tested, and
errs towards answering. A question is refused only when it asks for help *doing* one of these
things; a question *about* them ("what did members say about the scam texts?", "is the new weapons
law fair?") is answered like any other. Each category is a list of regular expressions over the
case-folded question; the first that matches names the category in the refusal.
"""

from __future__ import annotations

import re

_HOW = r"(how (do|can|could|would|should) (i|we|you|one|someone)|how to|help me|teach me|show me|steps to|" \
       r"instructions (for|to)|guide (to|for)|recipe for|ways? to|i want to|i need to|tell me how|explain how|" \
       r"write (me )?(a|an|some)?)"

# (category shown to the asker, patterns). Kept narrow: each names an act, not a topic.
UNLAWFUL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("making weapons or explosives", (
        _HOW + r".{0,40}\b(make|build|assemble|cook|synthesi[sz]e|3d[- ]print)\b.{0,40}"
               r"\b(bomb|explosives?|pipe ?bomb|grenade|napalm|thermite|nerve agent|sarin|ricin|ghost gun|"
               r"untraceable gun|silencer|suppressor|molotov)",
        r"\b(bomb|explosive|detonator)s? (recipe|instructions|tutorial)",
    )),
    ("sexual content involving children", (
        r"\b(child|children|kid|kids|minor|minors|underage|preteen|\d{1,2}[- ]year[- ]old)\b.{0,60}"
        r"\b(sex|sexual|nude|nudes|naked|porn|erotic)",
        r"\b(sex|sexual|nude|nudes|naked|porn|erotic)\b.{0,60}\b(child|children|kid|kids|minor|minors|underage|preteen|"
        r"\d{1,2}[- ]years?[- ]olds?)\b",
        r"\bcsam\b|\bchild porn",
    )),
    ("finding a private person's home address or phone number", (
        r"\b(dox|doxx|doxing|doxxing)\b",
        r"\b(home address|private address|personal (phone|number|address|email)|private (phone|number)|"
        r"mobile number|cell number)\b",
        r"\bwhere does @?\w+( \w+)? (actually |really )?live\b",
        r"\b(phone number|address)\b.{0,20}\bof @\w+",
        r"\b(find|track|locate|stalk)\b.{0,30}\b(where (s?he|they|@\w+|\w+) lives?|home address)\b",
    )),
    ("writing malware or breaking into systems", (
        _HOW + r".{0,40}\b(ransomware|malware|keylogger|botnet|virus|trojan|spyware|rootkit|"
               r"phishing (page|kit|site|email))",
        _HOW + r".{0,40}\b(hack|break) into\b",
        r"\b(steal|crack|dump)\b.{0,30}\b(passwords?|credentials|password hashes)\b",
    )),
    ("fraud or stealing money", (
        _HOW + r".{0,40}\b(steal|launder|embezzle|skim)\s+(money|cash|from|an? |someone|people|credit|cards?|"
               r"identit|funds|wallets?|bikes?|cars?)",
        _HOW + r".{0,40}\b(scam|defraud|con|swindle)\s+(people|someone|somebody|them|him|her|the elderly|old people|"
               r"grandma|customers|tourists|my|an? )",
        r"\b(counterfeit|forge|fake)\b.{0,20}\b(money|banknotes|cheques?|checks|ids?|passports?|invoices?)\b",
        r"\bstolen (credit )?cards?\b|\bcarding\b|\bmoney mule\b",
        _HOW + r".{0,40}\b(launder|laundering)\b",
    )),
)

# Asking how to resist one of these ("how do I spot a scam", "how to stop someone stealing my bike")
# is not asking to do it: fraud and malware patterns do not fire on defensive questions.
_DEFENSIVE = re.compile(r"\b(stop|prevent|protect|recogni[sz]e|spot|detect|report|defend|tell if|know if|"
                        r"victim|avoid being|avoid getting scammed)\b")
_DEFENSIVE_CATEGORIES = frozenset({"writing malware or breaking into systems", "fraud or stealing money"})

_COMPILED = tuple((name, tuple(re.compile(p) for p in patterns)) for name, patterns in UNLAWFUL)

REFUSAL = ("I can't help with that: it asks for help with {category}, which the assistant refuses "
           "(see the assistant policy). I'm glad to answer questions about the topic itself, with sources.")

# Text that speaks to an AI rather than about the world. Such a sentence in a post is someone trying
# to steer the assistant; it is never picked as an answer sentence (the post can still be cited for
# its other sentences), and a generated sentence that repeats one is dropped.
_INSTRUCTION = re.compile(
    r"ignore (all |any |your |my |the |previous |prior |above |earlier )*(instructions|rules|prompts?|guidelines)"
    r"|disregard (all |any |your |the |previous |prior )*(instructions|rules)"
    r"|system prompt|\bsystem\s*:|\bassistant\s*:|you are now|act as (an? )?(ai|assistant|admin)"
    r"|new instructions|jailbreak|developer mode"
    r"|reveal .{0,40}(private|secret|hidden|password|instructions)"
    r"|\b(send|transfer|pay|wire|give)\b.{0,40}\b(money|funds|\d+|£|\$|€|coins?|credits?)\b.{0,30}\bto @\w+"
    r"|\b(send|transfer|wire)\b.{0,20}\b(money|funds)\b",
    re.IGNORECASE,
)


def refusal_category(question: str) -> str | None:
    """The unlawful category the question asks for help with, or None to answer it."""
    text = " ".join(question.casefold().split())
    defensive = bool(_DEFENSIVE.search(text))
    for name, patterns in _COMPILED:
        if defensive and name in _DEFENSIVE_CATEGORIES:
            continue
        if any(p.search(text) for p in patterns):
            return name
    return None


def refusal_text(category: str) -> str:
    return REFUSAL.format(category=category)


def looks_like_instruction(sentence: str) -> bool:
    """True for text addressed to an AI (or asking it to move money): never an answer sentence."""
    return bool(_INSTRUCTION.search(sentence))
