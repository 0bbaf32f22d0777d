"""The schema revision this code works with: a constant, cheap to import (`--version`)."""

HEAD_REVISION = "0004_store_over_time"  # the newest file in migrations/versions (tested)
