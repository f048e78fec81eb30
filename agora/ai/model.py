"""Model presets in the Llama architecture, built from a config: no downloaded weights.

Each preset is a `transformers.LlamaConfig` shape, so a trained model saves in Hugging Face format
(safetensors + config.json) and loads in transformers and vLLM as any Llama does. The large presets
copy published Llama shapes (3.2 1B/3B, 3 8B); they are for a GPU cluster under torchrun + FSDP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import LlamaConfig, LlamaForCausalLM


@dataclass(frozen=True)
class Preset:
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    context: int
    tie_embeddings: bool
    # Training defaults that suit the size: a global batch in sequences, steps, peak learning rate.
    batch_size: int
    steps: int
    learning_rate: float
    fsdp: bool  # shard parameters, gradients and optimizer state across GPUs (too big to replicate)
    about: str

    def parameters(self, vocab_size: int) -> int:
        """Exact parameter count of the LlamaForCausalLM this preset builds."""
        head_dim = self.hidden // self.heads
        attention = self.hidden * head_dim * (2 * self.heads + 2 * self.kv_heads)
        mlp = 3 * self.hidden * self.intermediate
        per_layer = attention + mlp + 2 * self.hidden  # two RMSNorm weights
        embeddings = vocab_size * self.hidden * (1 if self.tie_embeddings else 2)
        return self.layers * per_layer + embeddings + self.hidden  # + the final norm

    def flops_per_token(self, vocab_size: int, context: int | None = None) -> float:
        """Training FLOPs per token (forward + backward): 6·N for the weights (the output projection
        included, the embedding lookup not) plus 12·layers·hidden·context for attention (PaLM, app. B)."""
        n = self.parameters(vocab_size) - (vocab_size * self.hidden if not self.tie_embeddings else 0)
        return 6 * n + 12 * self.layers * self.hidden * (context or self.context)


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("tiny", hidden=128, layers=4, heads=4, kv_heads=4, intermediate=384, context=256, tie_embeddings=True,
           batch_size=16, steps=200, learning_rate=3e-3, fsdp=False,
           about="1–3 M parameters (with the vocabulary): learns a community's style on 2 CPU cores in minutes"),
    Preset("small", hidden=512, layers=8, heads=8, kv_heads=8, intermediate=1408, context=512, tie_embeddings=True,
           batch_size=32, steps=5_000, learning_rate=1e-3, fsdp=False,
           about="28–35 M parameters: hours on a laptop CPU, minutes on one GPU"),
    Preset("base", hidden=768, layers=12, heads=12, kv_heads=12, intermediate=2048, context=1024,
           tie_embeddings=False, batch_size=64, steps=20_000, learning_rate=6e-4, fsdp=False,
           about="about 130 M parameters with a 32k vocabulary (GPT-2 small's scale): one GPU"),
    Preset("1b", hidden=2048, layers=16, heads=32, kv_heads=8, intermediate=8192, context=2048, tie_embeddings=True,
           batch_size=256, steps=50_000, learning_rate=3e-4, fsdp=True,
           about="Llama 3.2 1B shape: a node of GPUs"),
    Preset("3b", hidden=3072, layers=28, heads=24, kv_heads=8, intermediate=8192, context=4096, tie_embeddings=True,
           batch_size=512, steps=100_000, learning_rate=3e-4, fsdp=True,
           about="Llama 3.2 3B shape: several nodes"),
    Preset("8b", hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336, context=8192,
           tie_embeddings=False, batch_size=1024, steps=200_000, learning_rate=3e-4, fsdp=True,
           about="Llama 3 8B shape: a cluster"),
]}


def padded_vocab(vocab_size: int) -> int:
    """Round the embedding table up to a multiple of 64: matrix shapes GPUs multiply fastest."""
    return -(-vocab_size // 64) * 64


def llama_config(preset: Preset, *, vocab_size: int, pad_id: int, bos_id: int, eos_ids: list[int]) -> LlamaConfig:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=padded_vocab(vocab_size), hidden_size=preset.hidden, intermediate_size=preset.intermediate,
        num_hidden_layers=preset.layers, num_attention_heads=preset.heads, num_key_value_heads=preset.kv_heads,
        max_position_embeddings=preset.context, rms_norm_eps=1e-5, tie_word_embeddings=preset.tie_embeddings,
        pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_ids,
        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0 if preset.context <= 2048 else 500_000.0},
    )


def build_model(config: LlamaConfig) -> LlamaForCausalLM:
    """A freshly initialised model (weights from the current torch seed)."""
    from transformers import LlamaForCausalLM

    return LlamaForCausalLM(config)


def preset_table() -> list[dict[str, object]]:
    """The presets as rows for docs and `agora ai presets`, counted with a 32,000-token vocabulary."""
    return [{**asdict(p), "parameters": p.parameters(32_000)} for p in PRESETS.values()]
