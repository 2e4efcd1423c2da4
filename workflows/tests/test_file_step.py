"""The `file` step against a real directory (and Django's in-memory storage, standing for S3 and the
like): every operation, paths confined to the root (symlinks included), size limits, idempotent
retries, refusal at save over the API, and whole runs of a designed workflow."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from workflows import files
from workflows.models import TaskExecution, Workflow
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.steps import StepContext, StepError, registry

ESCAPES = ["../x", "/etc/passwd", "a/../../x", "a\\..\\x", "a\x00b", "..", "a/..", "./a", "a//b", "a\nb",
           ".flowpilot/append/x"]


OWNER = 7  # the workflow owner of the steps run here: their files are in <files root>/7/


@pytest.fixture
def root(tmp_path, settings) -> Path:
    """The owner's directory of the files root (tmp_path): beside it, other owners' and the rest."""
    settings.FLOWPILOT_FILES_ROOT = tmp_path
    settings.FLOWPILOT_FILES_STORAGE = ""
    settings.FLOWPILOT_FILES_MAX_BYTES = 1000
    settings.FLOWPILOT_FILES_MAX_LIST_ENTRIES = 50
    (tmp_path / str(OWNER)).mkdir()
    return tmp_path / str(OWNER)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory beside the root, with a file nobody may touch through the step."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.txt").write_text("outside secret")
    return directory


def run(config: dict, *, key: str = "e1:f", owner: int = OWNER) -> dict:
    ctx = StepContext(execution_id="e1", step_key="f", attempt=1, idempotency_key=key, timeout_seconds=10, input={},
                      owner_id=owner)
    return registry.get("file").execute(config, ctx)


def refused(config: dict, **kwargs) -> StepError:
    with pytest.raises(StepError) as error:
        run(config, **kwargs)
    assert error.value.retryable is False
    return error.value


def tree(directory: Path) -> dict[str, bytes | None]:
    """Every path under `directory` (symlinks not followed) with its bytes: to see that nothing changed."""
    found = {}
    for path in sorted(directory.rglob("*")):
        rel = str(path.relative_to(directory))
        found[rel] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return found


# --- paths, pure -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ESCAPES + ["", "a/", "x" * 1025, "a/" + "b" * 256])
def test_clean_path_refuses_what_could_leave_the_root(path):
    with pytest.raises(files.PathRefused):
        files.clean_path(path)


@pytest.mark.parametrize("path, message", [
    ("../x", "contains '..'"), ("/etc/passwd", "is absolute"), ("a/../../x", "contains '..'"),
    ("a\\..\\x", "contains a backslash"), ("a\x00b", "contains a NUL byte"), ("a\tb", "control character"),
    (".flowpilot/x", "reserved"),
])
def test_a_refused_path_says_why(path, message):
    with pytest.raises(files.PathRefused, match=message):
        files.clean_path(path)


def test_clean_path_keeps_plain_relative_paths_and_a_list_may_name_the_root():
    assert files.clean_path("reports/2026-12-01.csv") == "reports/2026-12-01.csv"
    assert files.clean_path("ünï code/ça va.txt") == "ünï code/ça va.txt"
    assert files.clean_path("..hidden/x..y") == "..hidden/x..y"  # dots inside a name are no segment
    assert files.clean_path("", directory=True) == ""
    assert files.clean_path("reports/", directory=True) == "reports"


# --- each operation on a real directory ------------------------------------------------------------

def test_write_read_append_list_delete(root):
    assert run({"operation": "write", "path": "reports/a.csv", "content": "x,y\n"}) == {"path": "reports/a.csv", "size": 4}
    assert (root / "reports" / "a.csv").read_text() == "x,y\n"
    assert run({"operation": "append", "path": "reports/a.csv", "content": "1,2\n"}) == \
        {"path": "reports/a.csv", "size": 8}
    assert run({"operation": "read", "path": "reports/a.csv"}) == \
        {"path": "reports/a.csv", "content": "x,y\n1,2\n", "size": 8}
    run({"operation": "write", "path": "reports/b.json", "content": {"n": 1, "names": ["é"]}})
    assert json.loads((root / "reports" / "b.json").read_text()) == {"n": 1, "names": ["é"]}
    assert run({"operation": "list", "path": "reports"}) == {"path": "reports", "truncated": False, "entries": [
        {"name": "a.csv", "type": "file", "size": 8}, {"name": "b.json", "type": "file", "size": 25}]}
    assert run({"operation": "list"}) == {"path": "", "truncated": False,
                                          "entries": [{"name": "reports", "type": "directory", "size": None}]}
    assert run({"operation": "delete", "path": "reports/a.csv"}) == {"path": "reports/a.csv", "deleted": True}
    assert not (root / "reports" / "a.csv").exists()
    assert run({"operation": "delete", "path": "reports/a.csv"}) == {"path": "reports/a.csv", "deleted": False}


def test_base64_round_trips_bytes_and_non_utf8_text_is_refused_as_text(root):
    data = bytes(range(256))
    run({"operation": "write", "path": "blob.bin", "content": base64.b64encode(data).decode(), "encoding": "base64"})
    assert (root / "blob.bin").read_bytes() == data
    out = run({"operation": "read", "path": "blob.bin", "encoding": "base64"})
    assert base64.b64decode(out["content"]) == data and out["size"] == 256
    assert 'read it with "encoding": "base64"' in refused({"operation": "read", "path": "blob.bin"}).message
    assert "not valid base64" in refused({"operation": "write", "path": "c.bin", "content": "%%%",
                                          "encoding": "base64"}).message
    assert not (root / "c.bin").exists()


def test_a_write_replaces_atomically_and_the_same_write_again_changes_nothing(root):
    run({"operation": "write", "path": "r.txt", "content": "one"})
    first = os.stat(root / "r.txt")
    run({"operation": "write", "path": "r.txt", "content": "one"})  # a retried attempt
    again = os.stat(root / "r.txt")
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    run({"operation": "write", "path": "r.txt", "content": "two"})
    assert os.stat(root / "r.txt").st_ino != first.st_ino  # a new file renamed over the old one
    assert (root / "r.txt").read_text() == "two"
    assert sorted(p.name for p in root.iterdir()) == ["r.txt"]  # no temporary file left


def test_missing_files_directories_and_wrong_kinds_fail_clearly_without_retry(root):
    assert "no file 'nope.txt'" in refused({"operation": "read", "path": "nope.txt"}).message
    assert "no directory 'nope'" in refused({"operation": "list", "path": "nope"}).message
    (root / "d").mkdir()
    assert "is a directory" in refused({"operation": "delete", "path": "d"}).message
    assert "is a directory" in refused({"operation": "write", "path": "d", "content": "x"}).message
    assert "is not a file" in refused({"operation": "read", "path": "d"}).message
    assert (root / "d").is_dir()


# --- confinement -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize("operation", ["read", "write", "append", "delete", "list"])
def test_path_escapes_are_refused_with_a_clear_error_and_change_nothing(root, outside, path, operation):
    before = tree(root.parent)
    config = {"operation": operation, "path": path}
    if operation in ("write", "append"):
        config["content"] = "pwned"
    error = refused(config)
    assert error.message.startswith("path ") and error.details == {"reason": "path_refused"}
    assert tree(root.parent) == before


def test_a_symlink_in_the_root_to_a_directory_outside_is_refused_both_ways(root, outside):
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "passwd").symlink_to(outside / "secret.txt")
    before = tree(root.parent)
    for config in [
        {"operation": "read", "path": "link/secret.txt"},
        {"operation": "write", "path": "link/secret.txt", "content": "pwned"},
        {"operation": "write", "path": "link/new.txt", "content": "pwned"},
        {"operation": "write", "path": "link/sub/new.txt", "content": "pwned"},
        {"operation": "append", "path": "link/secret.txt", "content": "pwned"},
        {"operation": "delete", "path": "link/secret.txt"},
        {"operation": "list", "path": "link"},
        {"operation": "read", "path": "passwd"},
        {"operation": "write", "path": "passwd", "content": "pwned"},
        {"operation": "append", "path": "passwd", "content": "pwned"},
        {"operation": "delete", "path": "passwd"},
    ]:
        error = refused(config)
        assert "leads outside the files root" in error.message, config
    assert tree(root.parent) == before
    assert (outside / "secret.txt").read_text() == "outside secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_symlinked_parent_directory_leading_outside_is_refused(root, outside):
    (root / "a").mkdir()
    (root / "a" / "b").symlink_to(outside, target_is_directory=True)
    before = tree(root.parent)
    assert "leads outside" in refused({"operation": "write", "path": "a/b/c/d.txt", "content": "x"}).message
    assert "leads outside" in refused({"operation": "read", "path": "a/b/secret.txt"}).message
    assert tree(root.parent) == before and not (outside / "c").exists()


def test_a_symlink_that_stays_inside_the_root_works(root):
    (root / "data").mkdir()
    (root / "latest").symlink_to(root / "data", target_is_directory=True)
    run({"operation": "write", "path": "latest/x.txt", "content": "in"})
    assert (root / "data" / "x.txt").read_text() == "in"
    assert run({"operation": "read", "path": "latest/x.txt"})["content"] == "in"


def test_a_root_that_is_itself_a_symlink_works(tmp_path, settings):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    settings.FLOWPILOT_FILES_ROOT = tmp_path / "alias"
    run({"operation": "write", "path": "x.txt", "content": "ok"})
    assert (tmp_path / "real" / str(OWNER) / "x.txt").read_text() == "ok"


# --- limits ----------------------------------------------------------------------------------------

def test_sizes_past_the_limit_are_refused_and_change_nothing(root, settings):
    settings.FLOWPILOT_FILES_MAX_BYTES = 10
    error = refused({"operation": "write", "path": "big.txt", "content": "x" * 11})
    assert error.message == "content is 11 bytes; the limit is 10" and error.details == {"size": 11, "limit": 10}
    assert not (root / "big.txt").exists()
    (root / "big.txt").write_text("y" * 11)
    assert refused({"operation": "read", "path": "big.txt"}).message == "'big.txt' is 11 bytes; the limit is 10"
    refused({"operation": "append", "path": "big.txt", "content": "z" * 11})
    assert (root / "big.txt").read_text() == "y" * 11
    # a step's own max_bytes lowers the limit; it never raises it
    run({"operation": "write", "path": "ok.txt", "content": "12345"})
    assert "the limit is 4" in refused({"operation": "read", "path": "ok.txt", "max_bytes": 4}).message
    assert "the limit is 10" in refused({"operation": "read", "path": "big.txt", "max_bytes": 10_000}).message


def test_list_answers_at_most_max_entries_and_says_it_truncated(root, settings):
    for n in range(7):
        (root / f"f{n}.txt").write_text("x" * n)
    run({"operation": "append", "path": "f0.txt", "content": "a"})  # leaves an append marker, not listed
    out = run({"operation": "list", "max_entries": 3})
    assert len(out["entries"]) == 3 and out["truncated"] is True
    assert all(e["name"].startswith("f") for e in out["entries"])
    settings.FLOWPILOT_FILES_MAX_LIST_ENTRIES = 5
    out = run({"operation": "list", "max_entries": 100})
    assert len(out["entries"]) == 5 and out["truncated"] is True
    settings.FLOWPILOT_FILES_MAX_LIST_ENTRIES = 50
    out = run({"operation": "list"})
    assert [e["name"] for e in out["entries"]] == [f"f{n}.txt" for n in range(7)] and out["truncated"] is False


# --- retries ---------------------------------------------------------------------------------------

def test_append_retried_with_the_same_key_appends_once(root):
    run({"operation": "write", "path": "log.txt", "content": "start\n"})
    first = run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run1:f")
    again = run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run1:f")  # the retry
    assert first == again == {"path": "log.txt", "size": 11}
    assert (root / "log.txt").read_text() == "start\nline\n"
    run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run2:f")  # another run: appends
    assert (root / "log.txt").read_text() == "start\nline\nline\n"


def test_an_append_whose_bytes_never_landed_is_redone_by_its_retry(root):
    """A crash after the marker was written and before the bytes were: the retry appends them once."""
    run({"operation": "write", "path": "log.txt", "content": "start\n"})
    run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run1:f")
    os.truncate(root / "log.txt", len("start\n"))  # the bytes were lost with the crashed attempt
    run({"operation": "append", "path": "log.txt", "content": "other\n"}, key="run2:f")  # meanwhile, another run
    run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run1:f")  # the retry
    run({"operation": "append", "path": "log.txt", "content": "line\n"}, key="run1:f")  # and once more
    assert (root / "log.txt").read_text() == "start\nother\nline\n"


def test_deleting_a_file_removes_its_append_markers(root):
    run({"operation": "append", "path": "log.txt", "content": "a"}, key="k")
    assert (root / ".flowpilot").is_dir()
    run({"operation": "delete", "path": "log.txt"})
    assert not any(p.is_file() for p in (root / ".flowpilot").rglob("*"))
    run({"operation": "append", "path": "log.txt", "content": "a"}, key="k")  # a new file: the key appends again
    assert (root / "log.txt").read_text() == "a"


# --- any other Django storage (S3 and the like) ----------------------------------------------------

@pytest.fixture
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES,
                         "flowpilot_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    settings.FLOWPILOT_FILES_STORAGE = "flowpilot_files"
    settings.FLOWPILOT_FILES_MAX_BYTES = 1000
    settings.FLOWPILOT_FILES_MAX_LIST_ENTRIES = 50
    from django.core.files.storage import storages
    return files.Within(storages["flowpilot_files"], str(OWNER))  # the owner's directory of the storage


def test_a_storage_named_in_storages_is_used_through_the_storage_api(memory_storage):
    run({"operation": "write", "path": "reports/a.csv", "content": "x,y\n"})
    run({"operation": "write", "path": "reports/a.csv", "content": "x,y\n"})  # no-op, no a_XXXX.csv copy
    assert memory_storage.listdir("reports") == ([], ["a.csv"])
    assert memory_storage.storage.listdir("") == ([str(OWNER)], [])  # in the owner's directory of the storage
    run({"operation": "append", "path": "reports/a.csv", "content": "1,2\n"}, key="r1:f")
    run({"operation": "append", "path": "reports/a.csv", "content": "1,2\n"}, key="r1:f")
    assert run({"operation": "read", "path": "reports/a.csv"}) == \
        {"path": "reports/a.csv", "content": "x,y\n1,2\n", "size": 8}
    assert run({"operation": "list"}) == {"path": "", "truncated": False,
                                          "entries": [{"name": "reports", "type": "directory", "size": None}]}
    assert run({"operation": "list", "path": "reports"})["entries"] == [{"name": "a.csv", "type": "file", "size": 8}]
    assert run({"operation": "delete", "path": "reports/a.csv"})["deleted"] is True
    assert run({"operation": "delete", "path": "reports/a.csv"})["deleted"] is False
    directories, _ = memory_storage.listdir(".flowpilot/append")
    assert [memory_storage.listdir(f".flowpilot/append/{d}")[1] for d in directories] == [[]]  # the marker went
    run({"operation": "append", "path": "reports/a.csv", "content": "1,2\n"}, key="r1:f")  # a new file
    assert memory_storage.open("reports/a.csv").read() == b"1,2\n"
    assert "no directory 'nope'" in refused({"operation": "list", "path": "nope"}).message
    for path in ESCAPES:
        refused({"operation": "write", "path": path, "content": "x"})
    assert "no file" in refused({"operation": "read", "path": "reports/b.csv"}).message


def test_a_file_system_storage_named_in_storages_gets_the_symlink_checks(settings, tmp_path, outside):
    (tmp_path / "fs" / str(OWNER)).mkdir(parents=True)
    (tmp_path / "fs" / str(OWNER) / "link").symlink_to(outside, target_is_directory=True)
    settings.STORAGES = {**settings.STORAGES, "flowpilot_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "fs")}}}
    settings.FLOWPILOT_FILES_STORAGE = "flowpilot_files"
    assert "leads outside" in refused({"operation": "write", "path": "link/secret.txt", "content": "x"}).message
    assert (outside / "secret.txt").read_text() == "outside secret"
    run({"operation": "write", "path": "in.txt", "content": "ok"})
    assert (tmp_path / "fs" / str(OWNER) / "in.txt").read_text() == "ok"


def test_an_unknown_storage_name_fails_clearly(settings):
    settings.FLOWPILOT_FILES_STORAGE = "nope"
    assert "FLOWPILOT_FILES_STORAGE names 'nope'" in refused({"operation": "list"}).message


# --- one contract, every kind of root ------------------------------------------------------------

@pytest.fixture(params=["local directory", "storage from STORAGES"])
def any_root(request, settings, tmp_path):
    """The root as a local directory, and as a storage named in STORAGES (in memory, as S3 would be)."""
    settings.FLOWPILOT_FILES_MAX_BYTES = 100
    settings.FLOWPILOT_FILES_MAX_LIST_ENTRIES = 50
    if request.param == "local directory":
        settings.FLOWPILOT_FILES_ROOT = tmp_path / "root"
        settings.FLOWPILOT_FILES_STORAGE = ""
    else:
        settings.STORAGES = {**settings.STORAGES,
                             "flowpilot_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
        settings.FLOWPILOT_FILES_STORAGE = "flowpilot_files"
    return files.configured(OWNER)


class TestEveryRoot:
    """What the step promises whatever the root is (as Django's session backends share one test mixin)."""

    def test_each_operation(self, any_root):
        assert run({"operation": "write", "path": "d/a.txt", "content": "ab"}) == {"path": "d/a.txt", "size": 2}
        assert run({"operation": "append", "path": "d/a.txt", "content": "c"}) == {"path": "d/a.txt", "size": 3}
        assert run({"operation": "read", "path": "d/a.txt"}) == {"path": "d/a.txt", "content": "abc", "size": 3}
        assert run({"operation": "list", "path": "d/"}) == {
            "path": "d", "entries": [{"name": "a.txt", "type": "file", "size": 3}], "truncated": False}
        assert run({"operation": "delete", "path": "d/a.txt"}) == {"path": "d/a.txt", "deleted": True}
        assert "no file 'd/a.txt'" in refused({"operation": "read", "path": "d/a.txt"}).message

    def test_retries_repeat_no_effect(self, any_root):
        for _ in range(2):
            run({"operation": "write", "path": "a.txt", "content": "x"}, key="r1:w")
            run({"operation": "append", "path": "a.txt", "content": "y"}, key="r1:a")
        run({"operation": "append", "path": "a.txt", "content": "y"}, key="r2:a")
        assert run({"operation": "read", "path": "a.txt"})["content"] == "xyy"
        assert [e["name"] for e in run({"operation": "list"})["entries"]] == ["a.txt"]  # no copies, no markers

    def test_escapes_and_sizes_are_refused(self, any_root):
        for path in ESCAPES:
            assert refused({"operation": "write", "path": path, "content": "x"}).details == {"reason": "path_refused"}
        refused({"operation": "write", "path": "big.txt", "content": "x" * 101})
        assert run({"operation": "list"})["entries"] == []

    def test_list_is_capped(self, any_root):
        for n in range(4):
            run({"operation": "write", "path": f"f{n}", "content": "x"})
        out = run({"operation": "list", "max_entries": 2})
        assert len(out["entries"]) == 2 and out["truncated"] is True


# --- save time, over the API -----------------------------------------------------------------------

@pytest.mark.parametrize("config, field, words", [
    ({"operation": "read", "path": "../x"}, "steps.f.config.path", "contains '..'"),
    ({"operation": "read", "path": "/etc/passwd"}, "steps.f.config.path", "is absolute"),
    ({"operation": "write", "path": "a\\..\\x", "content": "x"}, "steps.f.config.path", "backslash"),
    ({"operation": "write", "path": "a.txt"}, "steps.f.config.content", "this field is required"),
    ({"operation": "read"}, "steps.f.config.path", "this field is required"),
    ({"operation": "read", "path": "a", "content": "x"}, "steps.f.config.content", "only write and append"),
    ({"operation": "move", "path": "a"}, "steps.f.config.operation", "is not one of"),
    ({"operation": "read", "path": "a", "max_bytes": 10**12}, "steps.f.config.max_bytes", "over this server's limit"),
    ({"operation": "list", "max_entries": 0}, "steps.f.config.max_entries", "less than the minimum"),
    ({"operation": "write", "path": "a", "content": {"x": 1}, "encoding": "base64"}, "steps.f.config.content",
     "must be a base64 string"),
    ({"operation": "read", "path": "a", "mode": "w"}, "steps.f.config", "Additional properties"),
])
def test_a_bad_config_is_a_400_at_save_naming_the_field_and_changes_nothing(api, config, field, words):
    response = api.post("/api/v1/workflows/", {"name": "files", "steps": [
        {"key": "f", "task_type": "file", "config": config}]}, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["fields"], response.data
    assert words in " ".join(response.data["fields"][field]), response.data
    assert not Workflow.objects.exists()


def test_a_templated_path_waits_for_run_time(api):
    response = api.post("/api/v1/workflows/", {"name": "files", "steps": [
        {"key": "f", "task_type": "file", "config": {"operation": "read", "path": "{{ input.path }}"}}]},
        format="json")
    assert response.status_code == 201, response.data


# --- whole runs ------------------------------------------------------------------------------------

def designed(api, steps: list[dict]) -> str:
    response = api.post("/api/v1/workflows/", {"name": "files", "status": "active", "steps": steps}, format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


def start(api, workflow_id: str, data: dict) -> str:
    response = api.post("/api/v1/executions/", {"workflow_id": workflow_id, "input_data": data}, format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


FLOW = [
    {"key": "write", "task_type": "file", "config": {
        "operation": "write", "path": "reports/{{ input.date }}.csv", "content": "date,signups\n"}},
    {"key": "add", "task_type": "file", "depends_on": ["write"], "config": {
        "operation": "append", "path": "{{ steps.write.output.path }}", "content": "{{ input.date }},{{ input.n }}\n"}},
    {"key": "read", "task_type": "file", "depends_on": ["add"], "config": {
        "operation": "read", "path": "reports/{{ input.date }}.csv"}},
    {"key": "list", "task_type": "file", "depends_on": ["read"], "config": {"operation": "list", "path": "reports"}},
]


def test_a_designed_workflow_writes_then_reads_to_completion(api, user, root, sync_executor):
    execution_id = start(api, designed(api, FLOW), {"date": "2026-12-01", "n": 42})
    sync_executor.drain()
    run_ = api.get(f"/api/v1/executions/{execution_id}/").data
    assert run_["status"] == E.COMPLETED, run_["error_message"]
    outputs = {t["step_key"]: t["output_data"] for t in run_["task_executions"]}
    assert outputs["read"] == {"path": "reports/2026-12-01.csv", "content": "date,signups\n2026-12-01,42\n",
                               "size": 27}
    assert outputs["list"]["entries"] == [{"name": "2026-12-01.csv", "type": "file", "size": 27}]
    # In the directory of the workflow's owner.
    assert (root.parent / str(user.pk) / "reports" / "2026-12-01.csv").read_text() == \
        "date,signups\n2026-12-01,42\n"


def test_one_owners_workflows_never_see_anothers_files(api, user, other_user, root, sync_executor):
    mine = designed(api, [{"key": "w", "task_type": "file", "config": {
        "operation": "write", "path": "secret.txt", "content": "{{ input.secret }}"}}])
    start(api, mine, {"secret": "mine only"})
    sync_executor.drain()
    assert (root.parent / str(user.pk) / "secret.txt").read_text() == "mine only"
    api.force_authenticate(other_user)
    theirs = designed(api, [
        {"key": "read", "task_type": "file", "config": {"operation": "read", "path": "secret.txt"}},
        {"key": "list", "task_type": "file", "config": {"operation": "list"}}])
    execution_id = start(api, theirs, {})
    sync_executor.drain()
    run_ = api.get(f"/api/v1/executions/{execution_id}/").data
    assert run_["status"] == E.FAILED
    assert "no file 'secret.txt'" in run_["error_message"]
    listed = TaskExecution.objects.get(execution_id=execution_id, step_key="list").output
    assert listed["entries"] == []  # their own (empty) directory, not the root


def test_a_step_without_an_owner_is_refused(root):
    assert "needs its workflow's owner" in refused({"operation": "list"}, owner=None).message


def test_a_path_escape_from_the_run_input_fails_the_run_without_retry_and_writes_nothing(api, root, outside,
                                                                                       sync_executor):
    before = tree(root.parent)
    workflow_id = designed(api, [{"key": "w", "task_type": "file", "max_retries": 3, "config": {
        "operation": "write", "path": "{{ input.name }}", "content": "pwned"}}])
    execution_id = start(api, workflow_id, {"name": "../outside/secret.txt"})
    sync_executor.drain()
    run_ = api.get(f"/api/v1/executions/{execution_id}/").data
    assert run_["status"] == E.FAILED
    assert "contains '..'; paths stay inside the files root" in run_["error_message"]
    assert [r.status for r in TaskExecution.objects.filter(execution_id=execution_id)] == [T.FAILED]
    assert tree(root.parent) == before
