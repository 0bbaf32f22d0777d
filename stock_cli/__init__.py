"""stock-cli: a local-first command-line stock assistant.

Nothing heavy is imported here: `stock --help` must stay fast.
"""

__version__ = "0.1.0"
