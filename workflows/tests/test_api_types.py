"""The designer's TypeScript types (frontend/src/lib/api-schema.d.ts) are generated from the server's
OpenAPI schema by openapi-typescript (`make api-types`). This test regenerates them from the schema
as `manage.py spectacular` builds it now and fails when the committed file differs: a serializer changed without
the types following it, which tsc would otherwise never notice.

It runs the generator pinned in frontend/package-lock.json, from frontend/node_modules, which
`make test` installs first (`npm ci`); without it the test fails and says so, rather than skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
GENERATED = FRONTEND / "src" / "lib" / "api-schema.d.ts"
GENERATOR = FRONTEND / "node_modules" / "openapi-typescript" / "bin" / "cli.js"


def test_the_committed_api_types_match_the_servers_schema(tmp_path):
    node = shutil.which("node")
    assert node, "node is needed to generate the API types"
    assert GENERATOR.exists(), f"{GENERATOR} is missing: run `npm ci` in frontend/ (make test does)"
    schema = tmp_path / "openapi.yaml"
    # In a process of its own, as `make api-types` runs it, without the FLOWPILOT_* settings that
    # flowpilot.testing adds: they register the tests' step types and code workflows, whose action
    # endpoints would be in the schema.
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLOWPILOT_")}
    subprocess.run([sys.executable, "manage.py", "spectacular", "--file", str(schema)], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    fresh = tmp_path / "api-schema.d.ts"
    subprocess.run([node, str(GENERATOR), str(schema), "-o", str(fresh)], cwd=FRONTEND, check=True,
                   capture_output=True, timeout=120)
    assert fresh.read_text() == GENERATED.read_text(), (
        "frontend/src/lib/api-schema.d.ts is out of date with the server's OpenAPI schema: run `make api-types`")
