"""Market data: symbols, provider adapters, fetch and store."""
