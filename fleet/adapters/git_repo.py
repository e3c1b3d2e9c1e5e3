"""Host git over a local repository: read files at a commit, check a patch applies to it.

Read-only on the repository: files are read with ``git cat-file`` (no filters, no textconv)
and a patch is checked against the commit's tree in a throw-away index (``git apply --cached
--check``), which is what applying it to a clean checkout of that commit would do. Hooks and
fsmonitor are disabled and global/system config is ignored: the repository is hostile input.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from fleet.contracts import Patch
from fleet.errors import WorkspaceUnavailable
from fleet.workspace import change_problem

SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.quotePath=off"]
ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0"}
MAX_FILE_BYTES = 200_000


class GitRepo:
    """A local git repository, read at a given commit."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def _git(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *SAFE, "-C", self.path, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            errors="replace",
            env={**os.environ, **ENV, **(env or {})},
        )

    def commit(self, ref: str = "HEAD") -> str:
        """The commit id ``ref`` names.

        Raises:
            WorkspaceUnavailable: not a git repository, or no such ref.
        """
        proc = self._git("rev-parse", "--verify", f"{ref}^{{commit}}")
        if proc.returncode != 0:
            raise WorkspaceUnavailable(source=self.path, reason=proc.stderr.strip()[:300])
        return proc.stdout.strip()

    def files(self, ref: str = "HEAD", *, max_bytes: int = MAX_FILE_BYTES) -> dict[str, str]:
        """Path -> text of every regular text file at ``ref`` (binaries, links and big files left out)."""
        commit = self.commit(ref)
        listing = self._git("ls-tree", "-r", "-z", "--long", commit)
        out: dict[str, str] = {}
        for entry in listing.stdout.split("\0"):
            if not entry.strip():
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind != "blob" or mode not in ("100644", "100755") or int(size) > max_bytes:
                continue
            blob = subprocess.run(
                ["git", *SAFE, "-C", self.path, "cat-file", "blob", sha],
                capture_output=True,
                timeout=60,
                env={**os.environ, **ENV},
            ).stdout
            if b"\0" in blob[:8000]:
                continue
            try:
                out[path] = blob.decode("utf-8")
            except UnicodeDecodeError:
                continue
        return out

    def check(self, patch: Patch) -> str | None:
        """Why ``patch`` does not apply to a clean checkout of its base commit, or None."""
        if problem := change_problem(patch.diff):
            return problem
        with tempfile.TemporaryDirectory(prefix="fleet-check-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            read = self._git("read-tree", patch.base_commit, env=env)
            if read.returncode != 0:
                return f"unknown base commit {patch.base_commit}: {read.stderr.strip()[:200]}"
            proc = self._git(
                "apply",
                "--cached",
                "--check",
                "--whitespace=nowarn",
                "-",
                stdin=patch.diff,
                env=env,
            )
        if proc.returncode != 0:
            return f"the diff does not apply: {proc.stderr.strip()[:600]}"
        return None
