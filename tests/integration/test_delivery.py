"""A story on a repository whose default branch is ``trunk`` (no ``main``), with no ``--branch``:
it reaches DONE, the change is delivered as ``fleet/<id>`` in the user's repository, the user's
checked-out branch and working tree are untouched, and ``fleet diff`` prints the change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_e2e_story import _drive_to_end

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


def _trunk_repo(sample_git: str, root: Path) -> Path:
    """The sample as the user's own repository: branch ``trunk``, a local edit in progress."""
    repo = root / "user-repo"
    subprocess.run(["git", "clone", "-q", sample_git, str(repo)], check=True, env=GIT_ENV)
    _git(repo, "checkout", "-q", "-b", "trunk")
    _git(repo, "branch", "-q", "-D", "main")
    (repo / "NOTES.txt").write_text("the user's uncommitted work\n")
    return repo


def test_trunk_repository_gets_a_fleet_branch_and_a_diff(real_stack, client, sample_git, tmp_path):
    repo = _trunk_repo(sample_git, tmp_path)
    head_before, status_before = _git(repo, "rev-parse", "HEAD"), _git(repo, "status", "--short")
    body = {**SAMPLE_STORY, "id": "deliver-trunk", "repo": str(repo)}
    body.pop("branch", None)
    created = client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    assert created.status_code == 201, created.text
    assert created.json()["branch"] is None  # the repository's default branch

    final = _drive_to_end(client, real_stack, "deliver-trunk")
    assert final["outcome"] == "done", (final["parked"], final["transitions"])

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


def test_diff_before_any_commit_is_404(real_stack, client):
    body = {**SAMPLE_STORY, "id": "deliver-none", "repo": "/nonexistent/x"}
    client.post(f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers())
    r = client.get(
        f"{real_stack.base_url}/stories/deliver-none/diff", headers=real_stack.headers("viewer")
    )
    assert r.status_code == 404 and "committed change" in r.json()["message"]
