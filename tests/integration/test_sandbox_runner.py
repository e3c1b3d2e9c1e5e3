"""The runner contract on real bubblewrap: results, not exceptions, for failed commands."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.contracts import Resources, TaskSpec
from fleet.errors import SandboxUnavailable


@pytest.fixture(scope="module")
def sandbox():
    return BwrapSandbox()


@pytest.fixture
def ws(tmp_path):
    os.chown(tmp_path, 65534, 65534)
    return tmp_path


def test_cgroups_are_detected_here(sandbox):
    # FACTS.md: cgroup v1 is writable as root on this machine.
    assert sandbox.cgroup_status() in ("cgroup v1", "cgroup v2")


def test_pass_fail_exit_codes_and_env(sandbox, ws):
    ok = sandbox.run(
        TaskSpec(
            id="ok",
            cmd=("sh", "-c", "echo $GREETING; echo err >&2"),
            workspace=str(ws),
            env={"GREETING": "hi"},
        )
    )
    assert (ok.status, ok.exit_code, ok.stdout, ok.stderr) == ("passed", 0, "hi\n", "err\n")
    assert ok.backend.startswith("bwrap") and ok.duration_s > 0
    bad = sandbox.run(TaskSpec(id="bad", cmd=("sh", "-c", "exit 7"), workspace=str(ws)))
    assert (bad.status, bad.exit_code, bad.reason) == ("failed", 7, "exit code 7")
    missing = sandbox.run(TaskSpec(id="nx", cmd=("no-such-tool",), workspace=str(ws)))
    assert missing.status == "failed" and missing.exit_code != 0


def test_artifacts_are_collected_but_never_through_links(sandbox, ws):
    r = sandbox.run(
        TaskSpec(
            id="art",
            workspace=str(ws),
            artifacts=("out.txt", "leak.txt", "absent.txt"),
            cmd=("sh", "-c", "echo result > out.txt; ln -s /etc/shadow leak.txt"),
        )
    )
    assert r.status == "passed"
    assert r.artifacts["out.txt"] == "result\n"
    assert r.artifacts["leak.txt"].startswith("[refused")
    assert "absent.txt" not in r.artifacts


def test_file_size_limit(sandbox, ws):
    r = sandbox.run(
        TaskSpec(
            id="fs",
            cmd=("sh", "-c", "head -c 3000000 /dev/zero > big"),
            workspace=str(ws),
            resources=Resources(file_size_mb=1),
        )
    )
    assert (r.status, r.limit_hit) == ("killed", "file_size")
    assert (ws / "big").stat().st_size == 1024 * 1024


def test_cancel_kills_a_running_spec(sandbox, ws):
    result = {}
    t = threading.Thread(
        target=lambda: result.update(
            r=sandbox.run(TaskSpec(id="long", cmd=("sleep", "30"), workspace=str(ws), timeout_s=60))
        )
    )
    t.start()
    deadline = time.monotonic() + 5
    while "long" not in sandbox.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.cancel("long") is True
    t.join(10)
    assert (result["r"].status, result["r"].reason) == ("killed", "cancelled")
    assert sandbox.cancel("long") is False


def test_workspace_must_exist(sandbox, tmp_path):
    with pytest.raises(SandboxUnavailable, match="not a directory"):
        sandbox.run(TaskSpec(id="x", cmd=("true",), workspace=str(tmp_path / "nope")))


def test_project_python_with_pytest_and_coverage_is_usable_inside(sandbox, ws):
    r = sandbox.run(
        TaskSpec(
            id="py",
            workspace=str(ws),
            cmd=(sys.executable, "-c", "import pytest, coverage; print('ok')"),
        )
    )
    assert (r.status, r.stdout) == ("passed", "ok\n"), r.stderr


def test_hostile_words_arrive_verbatim_and_nul_is_refused(sandbox, ws):
    # The pre-armed launcher gets a shell line; every word must reach the command unchanged.
    nasty = [
        "a b",
        "'q'\"dq\"",
        "$(touch pwned)",
        "`id`",
        "x;y|z&",
        "line\nbreak",
        "back\\slash",
        "*",
        "-e",
        "",
    ]
    r = sandbox.run(
        TaskSpec(
            id="words",
            workspace=str(ws),
            env={"NASTY": "$(id) 'x'\n;"},
            cmd=(
                sys.executable,
                "-c",
                "import os, sys; print(repr(sys.argv[1:] + [os.environ['NASTY']]))",
                *nasty,
            ),
        )
    )
    assert r.status == "passed", r.stderr
    assert r.stdout.strip() == repr([*nasty, "$(id) 'x'\n;"])
    assert not (ws / "pwned").exists()
    from fleet.errors import InvalidInput

    with pytest.raises(InvalidInput, match="NUL"):
        sandbox.run(TaskSpec(id="nul", cmd=("echo", "a\0--bind"), workspace=str(ws)))
    with pytest.raises(InvalidInput, match="env"):
        sandbox.run(TaskSpec(id="eq", cmd=("true",), env={"A=B": "1"}, workspace=str(ws)))


def test_non_default_limits_on_a_prearmed_cgroup(sandbox, ws):
    # Pre-armed cgroups carry the default limits; raising and lowering them per run must work (v1 ordering).
    for mb, procs in ((2048, 100), (96, 16), (512, 64)):
        r = sandbox.run(
            TaskSpec(
                id=f"lim{mb}",
                workspace=str(ws),
                resources=Resources(memory_mb=mb, processes=procs),
                cmd=("sh", "-c", "cat /proc/self/cgroup"),
            )
        )
        assert r.status == "passed" and "bwrap (cgroup" in r.backend, (r.stderr, r.backend)


def test_close_leaves_no_armed_launchers_or_cgroups(ws):
    sb = BwrapSandbox(prewarm=2)
    assert sb.run(TaskSpec(id="c1", cmd=("true",), workspace=str(ws))).status == "passed"
    deadline = time.monotonic() + 10
    while len(sb._spawner._ready) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    armed = list(sb._spawner._ready)
    assert len(armed) == 2 and all(a.proc.poll() is None for a in armed)
    sb.close()
    assert all(a.proc.poll() is not None for a in armed)
    assert all(not d.exists() for a in armed if a.cgroup for d in a.cgroup.dirs)


def test_packages_a_pth_file_adds_under_a_masked_dir_stay_importable(tmp_path):
    # An install whose packages reach it through a .pth line into another venv under /tmp (or
    # /home, /root): the sandbox masks /tmp, so the fleet's interpreter in it lost pytest ("No
    # module named pytest" from a clone under /tmp). The sandbox re-exposes such package dirs.
    site = tmp_path / "other-venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    (site / "fleet_pth_marker.py").write_text("WHERE = 'masked site-packages'\n")
    for p in (tmp_path, *tmp_path.parents):
        if str(p) == "/tmp":
            break
        os.chmod(p, 0o755)
    probe = (
        "import sys\n"
        "from fleet.adapters.bwrap_sandbox import BwrapSandbox\n"
        "from fleet.contracts import TaskSpec\n"
        "r = BwrapSandbox(prewarm=0).run(TaskSpec(id='pth', cmd=(sys.executable, '-c', "
        "'import fleet_pth_marker; print(fleet_pth_marker.WHERE)')))\n"
        "print(r.status, r.stdout.strip(), r.stderr.strip()[-300:])\n"
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
    ).strip()
    (Path(purelib) / "deps.pth").write_text(f"{sysconfig.get_path('purelib')}\n{site}\n")
    root = Path(__file__).resolve().parents[2]  # `fleet` for the probe itself: its cwd
    out = subprocess.run(
        [python, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("passed masked site-packages"), out.stdout


def test_the_fleets_own_package_is_importable_in_the_sandbox_wherever_it_is_installed():
    # The installer runs `python -I -m fleet.adapters.index_forward` in the sandbox: with an
    # editable install in a checkout under /tmp (masked), `fleet` was not found.
    r = BwrapSandbox(prewarm=0).run(
        TaskSpec(
            id="own",
            cmd=(
                sys.executable,
                "-I",
                "-c",
                "import fleet.adapters.index_forward as f; print(f.__name__)",
            ),
        )
    )
    assert r.status == "passed" and r.stdout.strip() == "fleet.adapters.index_forward", r.stderr
