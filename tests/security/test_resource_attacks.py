"""Resources: workspace and tmpfs sizes are bounded, workspaces go away, file-size kills are named,
multiprocessing works, and file names never become tool options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import Sources, Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import Resources, RunContext, TaskSpec
from fleet.errors import WorkspaceUnavailable
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-res", task_id="t-1", role="developer", phase="build")
PY = sys.executable


def _repo(path: Path, files: dict[str, str | bytes]) -> Path:
    path.mkdir(parents=True)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    return path


def _runner(tmp_path: Path, **kw: object) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(prewarm=0), PolicyEngine(load("policy.yaml")))
    return WorkspaceRunner(sandbox, root=tmp_path / "runs", tools=Toolchain(python=PY), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sandbox():
    return BwrapSandbox(prewarm=0, tmpfs_mb=4)


def _spec(code: str, ws: Path, **res: int) -> TaskSpec:
    return TaskSpec(
        id=f"res-{abs(hash(code)) % 10**8}",
        cmd=(PY, "-c", code),
        workspace=str(ws),
        resources=Resources(**res),
    )


def test_a_repository_larger_than_the_workspace_limit_is_refused(tmp_path):
    big = _repo(tmp_path / "big", {"blob.bin": b"\0" * (3 * 1024 * 1024)})
    runner = _runner(tmp_path, sources=Sources(max_workspace_mb=1))
    with pytest.raises(WorkspaceUnavailable, match="larger than the workspace limit"):
        runner.execute(str(big), {"m.py": "X = 1\n"}, branch="fleet/big", context=CTX)
    assert list((tmp_path / "runs").iterdir()) == []  # the partial clone is gone too


def test_tmpfs_mounts_are_size_limited(sandbox, tmp_path):
    fill = "open('/tmp/fill', 'wb').write(b'x' * (16 * 1024 * 1024))"
    r = sandbox.run(_spec(fill, tmp_path))
    assert r.status == "failed" and "No space left on device" in r.stderr, r
    shm = "open('/dev/shm/fill', 'wb').write(b'x' * (16 * 1024 * 1024))"
    r = sandbox.run(_spec(shm, tmp_path))
    assert r.status == "failed" and "No space left on device" in r.stderr, r


def test_file_size_kill_is_reported_as_file_size(sandbox, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir(mode=0o777)
    ws.chmod(0o777)
    write = f"open('{ws}/big', 'wb').write(b'x' * (3 * 1024 * 1024))"
    r = sandbox.run(_spec(write, ws, file_size_mb=1))
    assert r.limit_hit == "file_size", r


def test_multiprocessing_works_inside_a_run(sandbox, tmp_path):
    code = (
        "import multiprocessing as mp\n"
        "q = mp.Queue(); lock = mp.Lock()\n"
        "p = mp.Process(target=q.put, args=(42,)); p.start(); p.join()\n"
        "print(q.get(timeout=10))"
    )
    r = sandbox.run(_spec(code, tmp_path))
    assert r.status == "passed" and r.stdout.strip() == "42", r


def test_a_file_named_like_an_option_is_compiled_as_a_file(tmp_path):
    # "-x.py" read as an option is compileall's "-x .py": skip every path matching ".py", so the
    # broken module below would never be compiled and the build would "pass".
    repo = _repo(
        tmp_path / "opt",
        {"-x.py": "X = 1\n", "broken.py": "def f(:\n", "tests/test_ok.py": "def test_ok(): pass\n"},
    )
    out = _runner(tmp_path).execute(str(repo), {"ok.py": "Y = 2\n"}, branch="fleet/o", context=CTX)
    assert out.report is not None and out.report.build_ok is False, out
    assert out.status == "checked" and out.commit is None


def test_workspaces_are_removed_unless_kept(tmp_path):
    repo = _repo(tmp_path / "r", {"m.py": "X = 1\n", "tests/test_m.py": "def test_m(): pass\n"})
    runner = _runner(tmp_path)
    rejected = runner.execute(str(repo), {".git/x": "1"}, branch="fleet/r1", context=CTX)
    assert rejected.status == "rejected" and not Path(rejected.workspace).exists()
    good = runner.execute(str(repo), {"m.py": "X = 2\n"}, branch="fleet/r2", context=CTX)
    assert good.status == "committed" and Path(good.workspace).exists()  # the next attempt's base
    assert runner.remove_story("s-res") == 1
    assert not Path(good.workspace).exists()
    # no workspace is left; only the shared cache of target environments stays
    assert [p.name for p in (tmp_path / "runs").iterdir()] in ([], ["envs"])
    kept = _runner(tmp_path, keep=True)
    out = kept.execute(str(repo), {".git/x": "1"}, branch="fleet/r3", context=CTX)
    assert Path(out.workspace).exists()
