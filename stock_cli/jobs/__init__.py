"""Scheduled jobs: schedules, job kinds (one module each), the runner, the daemon, alerts."""
