"""Health, readiness and Prometheus metrics over HTTP (read-only, loopback by default)."""
