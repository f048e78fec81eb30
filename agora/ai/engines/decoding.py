"""Token choice and incremental text: the parts of generation that need no model.

Kept apart from the model loop so each rule is small and testable on its own: greedy at
temperature 0, nucleus (top-p) sampling otherwise; and streaming text that never splits a
multi-byte character and never shows the beginning of a stop string that is still being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPLACEMENT = "\ufffd"  # what a decoder shows for the first bytes of an unfinished character


def pick_token(logits: torch.Tensor, *, temperature: float, top_p: float,
               generator: torch.Generator | None) -> int:
    """The next token id from the last position's logits (1-d, vocabulary-sized)."""
    import torch

    if temperature < 1e-5 or top_p <= 0:  # greedy: a tinier temperature would overflow the softmax
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        cut = before >= top_p
        cut[..., 0] = False  # the smallest set whose mass reaches top_p: always at least the best token
        sorted_probs[cut] = 0.0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator).item())


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """`text` up to the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def safe_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of `text` may be shown now: not a trailing U+FFFD (a character still arriving), and
    not a tail that could be the beginning of a stop string."""
    end = len(text)
    while end > 0 and text[end - 1] == REPLACEMENT:
        end -= 1
    held = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, end), 0, -1):
            if text[end - n:end] == stop[:n]:
                held = max(held, n)
                break
    return end - held
