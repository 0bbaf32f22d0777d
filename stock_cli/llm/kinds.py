"""The LLM wire protocols a platform can speak: one line each (one module per protocol)."""

from __future__ import annotations

from typing import Any

from stock_cli.registry import Entry, Registry

PLATFORM_KINDS: Registry[Any] = Registry(
    "platform kind",
    Entry(
        "openai",
        "any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, Ollama, vLLM …)",
        "stock_cli.llm.openai:OpenAIPlatform",
    ),
    Entry("anthropic", "Anthropic's Messages API", "stock_cli.llm.anthropic:AnthropicPlatform"),
)
