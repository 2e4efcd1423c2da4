"""The two modes: services mode refuses a weak SECRET_KEY; the embedded mode makes one and keeps it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def settings_process(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    base.update(DJANGO_SETTINGS_MODULE="flowpilot.settings", FLOWPILOT_VAR_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=base, capture_output=True, text=True)


def test_services_mode_refuses_an_empty_or_default_secret_key(tmp_path):
    for key in ("", "change-me", "django-insecure-abc", "short"):
        result = settings_process(tmp_path, REDIS_URL="redis://127.0.0.1:6379/15", SECRET_KEY=key)
        assert result.returncode != 0 and "SECRET_KEY" in result.stderr, key
    good = settings_process(tmp_path, REDIS_URL="redis://127.0.0.1:6379/15", SECRET_KEY="x" * 40)
    assert good.returncode == 0 and good.stdout.strip() == "x" * 40


def test_embedded_mode_makes_a_secret_key_once_and_keeps_it(tmp_path):
    first = settings_process(tmp_path)
    second = settings_process(tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50 and first.stdout == second.stdout
    assert (tmp_path / "secret_key").read_text().strip() == first.stdout.strip()
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
