"""A story on a repository whose default branch is ``trunk`` (no ``main``), with no ``--branch``,
a ``src/`` layout package and a registry dependency the fleet's venv lacks (``roman``, installed
into the target's own environment from real PyPI): it reaches DONE, the change is delivered as ``fleet/<id>`` in the user's repository, the user's
checked-out branch and working tree are untouched, and ``fleet diff`` prints the change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_e2e_story import _drive_to_end, _events

from fleet.orchestrator.sample import SAMPLE_STORY

GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@localhost",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@localhost",
    "PATH": "/usr/bin:/bin",
}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=GIT_ENV, check=True
    )
    return done.stdout.strip()


PROJECT = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "numerals"\n'
    'version = "0.1.0"\ndependencies = ["roman==5.2"]\n',
    "src/numerals/__init__.py": "import roman\n\n\ndef to_roman(n):\n    return roman.toRoman(n)\n",
    "tests/test_numerals.py": "import roman\n\nfrom numerals import to_roman\n\n\n"
    "def test_to_roman():\n    assert to_roman(9) == roman.toRoman(9) == 'IX'\n",
}


def _trunk_repo(sample_git: str, root: Path) -> Path:
    """The sample as the user's own repository: branch ``trunk``, a ``src/`` package with a
    registry dependency, a local edit in progress."""
    repo = root / "user-repo"
    subprocess.run(["git", "clone", "-q", sample_git, str(repo)], check=True, env=GIT_ENV)
    _git(repo, "checkout", "-q", "-b", "trunk")
    _git(repo, "branch", "-q", "-D", "main")
    for rel, text in PROJECT.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "src layout package with a registry dependency")
    (repo / "NOTES.txt").write_text("the user's uncommitted work\n")
    server = root / "server.git"  # where the user pushes (a remote of theirs named "backup")
    subprocess.run(["git", "init", "-q", "--bare", str(server)], check=True, env=GIT_ENV)
    _git(repo, "remote", "add", "backup", str(server))
    return repo


def test_trunk_repository_gets_a_fleet_branch_and_a_diff(real_stack, client, sample_git, tmp_path):
    repo = _trunk_repo(sample_git, tmp_path)
    head_before, status_before = _git(repo, "rev-parse", "HEAD"), _git(repo, "status", "--short")
    body = {**SAMPLE_STORY, "id": "deliver-trunk", "repo": str(repo), "push": "backup"}
    body.pop("branch", None)
    created = client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    assert created.status_code == 201, created.text
    assert created.json()["branch"] is None  # the repository's default branch

    final = _drive_to_end(client, real_stack, "deliver-trunk")
    assert final["outcome"] == "done", (final["parked"], final["transitions"])
    # its tests ran in the target's own environment (roman installed there, not in the fleet's)
    frames = [f for f in _events(client, real_stack, "deliver-trunk") if "workspace.report" in f]
    assert frames and all(
        "environment: installed" in f or "environment: cached" in f for f in frames
    )

    # the user's repository: a new branch with the change; their branch and work untouched
    assert _git(repo, "branch", "--show-current") == "trunk"
    assert _git(repo, "rev-parse", "HEAD") == head_before
    assert _git(repo, "status", "--short") == status_before == "?? NOTES.txt"
    delivered = _git(repo, "rev-parse", "refs/heads/fleet/deliver-trunk")
    changed = _git(repo, "diff", "--name-only", head_before, delivered).split()
    assert changed, "the delivered branch carries no change"

    diff = client.get(
        f"{real_stack.base_url}/stories/deliver-trunk/diff",
        params={"format": "json"},
        headers=real_stack.headers("viewer"),
    ).json()
    assert diff["delivered"] is True and diff["branch"] == "fleet/deliver-trunk"
    assert diff["commit"] == delivered and diff["repo"] == str(repo)
    assert diff["diff"] == _git(repo, "diff", head_before, delivered) + "\n"
    assert Path(diff["patch_file"]).read_text() == diff["diff"]

    cli = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "diff", "deliver-trunk"]
        + ["--url", real_stack.base_url, "--token", real_stack.tokens["viewer"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert "branch fleet/deliver-trunk" in cli.stdout and diff["diff"] in cli.stdout

    report = client.get(
        f"{real_stack.base_url}/stories/deliver-trunk/report", headers=real_stack.headers("viewer")
    ).text
    assert "## Delivery" in report and "fleet/deliver-trunk" in report
    assert "Pushed to `backup`" in report

    # opt-in push: the branch reached the remote the story named, with the same commit
    assert _git(tmp_path / "server.git", "rev-parse", "refs/heads/fleet/deliver-trunk") == delivered
    # `fleet show` names the branch, the commit and the repository's path
    shown = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "show", "deliver-trunk"]
        + ["--url", real_stack.base_url, "--token", real_stack.tokens["viewer"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    delivery = json.loads(shown.stdout)["delivery"]
    assert delivery["branch"] == "fleet/deliver-trunk" and delivery["commit"] == delivered
    assert delivery["repo"] == str(repo) and delivery["push"] == "backup" and delivery["pushed"]


def test_a_push_to_a_url_with_credentials_is_refused_at_submit(real_stack, client):
    body = {**SAMPLE_STORY, "id": "deliver-cred", "repo": "/tmp/x"}
    body["push"] = "https://me:token@github.com/me/x.git"
    r = client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    assert r.status_code == 400 and "credentials in the URL" in r.json()["message"], r.text
    assert "token" not in r.text.replace("credentials", "")


def test_diff_before_any_commit_is_404(real_stack, client, sample_git):
    # A real repository (the gateway checks it at submission), but the story waits for the PO's
    # approval: nothing is committed yet.
    body = {**SAMPLE_STORY, "id": "deliver-none", "repo": sample_git}
    r = client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    assert r.status_code == 201, r.text
    r = client.get(
        f"{real_stack.base_url}/stories/deliver-none/diff", headers=real_stack.headers("viewer")
    )
    assert r.status_code == 404 and "committed change" in r.json()["message"]


def test_a_lost_quorum_parks_with_each_members_reason_not_a_traceback(real_stack, client, tmp_path):
    """The scripted developer's edits name ``calc/__init__.py``, which this repository lacks:
    every council loses its quorum; the story parks at ``error`` with the members' reasons,
    the error itself (never Ray's wrapper, its remote traceback or colour codes)."""
    repo = tmp_path / "words"
    repo.mkdir()
    (repo / "words.py").write_text("def count(text):\n    return len(text.split())\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=GIT_ENV)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "words")
    body = {**SAMPLE_STORY, "id": "deliver-quorum", "repo": str(repo)}
    created = client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    assert created.status_code == 201, created.text
    final = _drive_to_end(client, real_stack, "deliver-quorum")
    assert final["parked"] and final["parked"]["gate"] == "error", final
    reason = final["parked"]["reason"]
    assert reason.startswith("QuorumLost: council deliver-quorum."), reason
    assert "developer-1" in reason and "PatchFailed" in reason, reason
    assert "RayTaskError" not in reason and "\x1b[" not in reason and "Traceback" not in reason
    lost = [f for f in _events(client, real_stack, "deliver-quorum") if "council.quorum_lost" in f]
    assert len(lost) >= 3 and all('"failures"' in f and "PatchFailed" in f for f in lost)
