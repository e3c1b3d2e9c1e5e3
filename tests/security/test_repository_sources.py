"""A story's ``repo``, ``branch`` and ``push`` are hostile: no git option injection, no command
transports, no local paths outside the configured roots, no special-purpose addresses (loopback, private...),
no credentials carried in a push URL."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from fleet.adapters import git_host
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import Sources, Toolchain, WorkspaceRunner
from fleet.contracts import Story
from fleet.errors import InvalidInput


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "m.py").write_text("X = 1\n")
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    return path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    allowed = tmp_path / "allowed"
    return _repo(allowed / "repo"), _repo(tmp_path / "elsewhere" / "repo")


@pytest.fixture
def runner(tmp_path: Path, roots) -> WorkspaceRunner:
    return WorkspaceRunner(
        BwrapSandbox(prewarm=0),
        root=tmp_path / "runs",
        tools=Toolchain(python=sys.executable),
        sources=Sources(repo_roots=[roots[0].parent]),
    )


def test_option_shaped_repo_never_reaches_git(runner, tmp_path):
    marker = tmp_path / "pwned"
    for evil in (f"--upload-pack=touch {marker}", f"--config=core.sshCommand=touch {marker}"):
        with pytest.raises(InvalidInput, match="repo"):
            runner.execute(evil, {"m.py": "X = 2\n"}, branch="fleet/x")
        with pytest.raises(ValidationError):
            Story(id="s", title="t", repo=evil)
    assert not marker.exists()


def test_command_transports_are_refused(runner, tmp_path):
    marker = tmp_path / "pwned"
    for evil in (f"ext::sh -c touch% {marker}", "fd::3", "git://example.com/x.git"):
        with pytest.raises(InvalidInput):
            runner.execute(evil, {"m.py": "X = 2\n"}, branch="fleet/x")
    # Even past the check, the transport allowlist stops git itself.
    proc = git_host.git(None, "ls-remote", "--", f"ext::sh -c touch% {marker}", check=False)
    assert proc.returncode != 0 and not marker.exists()


def test_branch_names_that_look_like_options_are_refused(runner, roots):
    ok, _ = roots
    for branch, base in (("--orphan", None), ("fleet/x", "--upload-pack=id"), ("a b", None)):
        with pytest.raises(InvalidInput, match="branch"):
            runner.execute(str(ok), {"m.py": "X = 2\n"}, branch=branch, base=base)
    with pytest.raises(ValidationError):
        Story(id="s", title="t", repo=str(ok), branch="-b")


def test_local_paths_outside_the_configured_roots_are_refused(runner, roots, tmp_path):
    ok, elsewhere = roots
    out = runner.execute(str(ok), {"m.py": "X = 2\n"}, branch="fleet/ok")
    assert out.status in ("checked", "committed")
    link = ok.parent / "link-out"
    link.symlink_to(elsewhere)  # a link under a root that points out of it
    for source in (str(elsewhere), f"file://{elsewhere}", str(link), "/etc"):
        with pytest.raises(InvalidInput, match="outside the configured repository roots"):
            runner.execute(source, {"m.py": "X = 2\n"}, branch="fleet/x")


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_https_to_loopback_or_private_addresses_is_refused(runner):
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        for url in (
            f"https://127.0.0.1:{port}/x.git",
            f"https://localhost:{port}/x.git",
            "https://10.1.2.3/x.git",
            "https://[::1]/x.git",
            "https://169.254.169.254/latest/meta-data",
            f"http://127.0.0.1:{port}/x.git",
            "http://example.com/x.git",
        ):
            with pytest.raises(InvalidInput, match="special-purpose address|scheme 'http'"):
                runner.execute(url, {"m.py": "X = 2\n"}, branch="fleet/x")
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.hits == []  # nothing ever reached the local service


# --------------------------------------------------------------------------- push remotes
@pytest.mark.parametrize(
    ("remote", "why"),
    [
        ("--upload-pack=touch /tmp/x", "not a remote name or URL"),
        ("https://user:secret@github.com/a/b.git", "credentials in the URL"),
        ("ext::sh -c touch% /tmp/x", "push to a remote name"),
        ("/tmp/elsewhere", "push to a remote name"),
        ("file:///tmp/elsewhere", "push to a remote name"),
        ("origin\nx", "not a remote name or URL"),
    ],
)
def test_bad_remotes_are_refused_before_git_runs(remote, why):
    with pytest.raises(InvalidInput, match=why):
        git_host.check_remote(remote)


def test_an_option_like_push_never_reaches_the_story():
    with pytest.raises(ValidationError):
        Story(id="s", title="t", push="--receive-pack=touch /tmp/pwned")


def test_a_local_repo_outside_the_roots_is_refused_at_submit_and_nothing_is_recorded(
    redis_url, tmp_path, roots
):
    """The orchestrator refuses the story before recording it (the gateway answers 400), instead of
    accepting it and parking it at ``error`` when the runner first clones it."""
    from dataclasses import replace

    import fleet_stack

    from actors.orchestrator import Orchestrator
    from actors.story_services import WorkspaceExecutor
    from actors.wiring import OrchestratorSettings
    from fleet.adapters.redis_events import RedisEventLog

    allowed, elsewhere = roots
    settings = OrchestratorSettings(redis_url=redis_url, prefix=f"admit{tmp_path.name[-6:]}")
    runner = WorkspaceRunner(
        BwrapSandbox(prewarm=0),
        root=tmp_path / "runs",
        sources=Sources(repo_roots=[allowed.parent]),
    )

    def services(s, log):
        executor = WorkspaceExecutor(s, log, runner=runner)
        return replace(fleet_stack.doubles_factory(s, log), admit=executor.admit)

    orch = Orchestrator(settings, services, resume=False)
    log = RedisEventLog(redis_url, prefix=settings.prefix)
    with pytest.raises(InvalidInput, match="outside the configured repository roots"):
        orch.submit({"id": "s-far", "title": "t", "repo": str(elsewhere)})
    assert log.read("s-far") == []
    assert orch.submit({"id": "s-near", "title": "t", "repo": str(allowed)}) == "s-near"
    assert log.read("s-near")
    orch.shutdown()
