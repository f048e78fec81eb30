"""The community tokenizer: byte-level BPE trained on the corpus, with the chat special tokens.

Byte-level, so every post in every script (Chinese, emoji, typos) encodes without an unknown token.
Saved in Hugging Face's format (tokenizer.json + tokenizer_config.json with the chat template), so
`transformers.AutoTokenizer` and vLLM load it beside the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

END_OF_TEXT = "<|endoftext|>"  # between documents, and the beginning-of-sequence marker
PAD = "<|pad|>"
SYSTEM, USER, ASSISTANT = "<|system|>", "<|user|>", "<|assistant|>"
END_OF_TURN = "<|end|>"  # closes one chat message; generation stops here
SPECIAL_TOKENS = [END_OF_TEXT, PAD, SYSTEM, USER, ASSISTANT, END_OF_TURN]

# Jinja, as transformers' apply_chat_template and vLLM's chat endpoint read it:
#   <|user|>\nhello<|end|>\n<|assistant|>\n
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
DEFAULT_VOCAB_SIZE = 16_384


def chat_prompt(messages: list[dict[str, str]], *, add_generation_prompt: bool = True) -> str:
    """The chat template applied in plain Python (the same text the Jinja template renders)."""
    text = "".join(f"<|{m['role']}|>\n{m['content']}{END_OF_TURN}\n" for m in messages)
    return text + (f"{ASSISTANT}\n" if add_generation_prompt else "")


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = DEFAULT_VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """Learn byte-level BPE merges from `texts`. A small corpus yields fewer than `vocab_size` tokens:
    a merge needs a pair seen at least twice."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()  # the same text typed on two keyboards encodes the same
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT,
                                   pad_token=PAD, additional_special_tokens=[SYSTEM, USER, ASSISTANT, END_OF_TURN])
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 1_000_000  # the model's context decides; silence the tokenizer's warning
    return fast


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))


def load_tokenizer(directory: Path) -> PreTrainedTokenizerFast:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(directory))


def stop_token_ids(tokenizer: PreTrainedTokenizerFast) -> list[int]:
    """Generation ends at the end of a chat turn or of a document, whichever comes first."""
    ids = [tokenizer.convert_tokens_to_ids(token) for token in (END_OF_TURN, END_OF_TEXT)]
    return [i for i in ids if isinstance(i, int) and i >= 0 and i != tokenizer.unk_token_id]
