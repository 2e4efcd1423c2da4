"""The settings `make loadtest` runs the web with: FlowPilot's own, plus the bare endpoint it
measures FlowPilot against (benchmarks/bare_api). Nothing else changes."""

from flowpilot.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.bare_api"]  # noqa: F405
ROOT_URLCONF = "benchmarks.loadtest_urls"
