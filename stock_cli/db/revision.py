"""The schema revision this code works with: a constant, cheap to import (`--version`)."""

HEAD_REVISION = "0006_alert_portfolio"  # the newest file in migrations/versions (tested)
