"""The community's own language model: corpus from public posts, tokenizer, Llama-architecture model,
trainer (one CPU to many GPUs under torchrun), evaluation, registry and model cards.

Heavy imports (torch, transformers, tokenizers) stay inside the modules that need them, so importing
`agora.ai` costs nothing to a web worker that never trains.
"""
