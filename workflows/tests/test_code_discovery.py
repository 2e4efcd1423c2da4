"""Discovery: each installed app's workflows.py is imported at start-up (AppConfig.ready), and a
workflow name defined twice stops the start, naming both classes. In a fresh interpreter."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = '''
from workflows.code import complete, step, workflow


@workflow({name!r})
class Found:
    @step(start=True)
    def only(self):
        return complete()
'''


def start_django(tmp_path, name: str) -> subprocess.CompletedProcess:
    app = tmp_path / "codeapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "workflows.py").write_text(WORKFLOW.format(name=name))
    (tmp_path / "discovery_settings.py").write_text(
        "from flowpilot.settings import *  # noqa\nINSTALLED_APPS = [*INSTALLED_APPS, 'codeapp']\n")
    script = textwrap.dedent("""
        import django
        django.setup()
        from workflows.code.registry import get
        print(get("found_in_an_app").where)
    """)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "discovery_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
           "FLOWPILOT_CODE_WORKFLOW_MODULES": "workflows.tests.code_examples"}
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_an_apps_workflows_module_is_discovered(tmp_path):
    done = start_django(tmp_path, "found_in_an_app")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "codeapp.workflows.Found"


def test_a_duplicate_name_stops_the_start_naming_both_places(tmp_path):
    done = start_django(tmp_path, "user_onboarding")
    assert done.returncode != 0
    assert ("code workflow 'user_onboarding' is defined twice: in codeapp.workflows.Found and in "
            "workflows.tests.code_examples.UserOnboarding") in done.stderr or \
        ("code workflow 'user_onboarding' is defined twice: in workflows.tests.code_examples.UserOnboarding and "
         "in codeapp.workflows.Found") in done.stderr, done.stderr
