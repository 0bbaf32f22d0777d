"""LLM platforms (one module per wire protocol), the tools they may call, the chat loop."""
