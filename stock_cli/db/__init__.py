"""Storage: engine and sessions, SQLModel tables, schema migrations."""
