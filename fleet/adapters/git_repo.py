"""Host git over a local repository: read files at a commit, check a patch applies to it.

Read-only on the repository: files are read with ``git cat-file`` (no filters, no textconv)
and a patch is checked against the commit's tree in a throw-away index (``git apply --cached
--check``), which is what applying it to a clean checkout of that commit would do. Hooks and
fsmonitor are disabled, global/system config is ignored and no transport is allowed (no lazy
fetch from a promisor remote the repository names): ``git_host``'s hardening, the repository
is hostile input. Only a repository the fleet's user owns is read (``git_tree.check_owned``).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from fleet.adapters.git_command import HARDENING
from fleet.adapters.git_command import environment as _env
from fleet.adapters.git_tree import check_owned
from fleet.contracts import Patch
from fleet.errors import WorkspaceUnavailable
from fleet.workspace import change_problem

SAFE = [arg for setting in (*HARDENING, "core.quotePath=off") for arg in ("-c", setting)]
MAX_FILE_BYTES = 200_000
READ_MAX_BYTES = 2_000_000  # one file asked for by name (a big test module whose test failed)
MAX_TOTAL_BYTES = 32_000_000  # every file of one read together


class GitRepo:
    """A local git repository, read at a given commit."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._owned = False

    def _git(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        if not self._owned:  # once: raises WorkspaceUnavailable for another user's repository
            check_owned(self.path)
            self._owned = True
        return subprocess.run(
            ["git", *SAFE, "-C", self.path, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            errors="replace",
            env={**_env(protocols=""), **(env or {})},
        )

    def commit(self, ref: str = "HEAD") -> str:
        """The commit id ``ref`` names.

        Raises:
            WorkspaceUnavailable: not a git repository, or no such ref.
        """
        proc = self._git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
        if proc.returncode != 0:
            raise WorkspaceUnavailable(source=self.path, reason=proc.stderr.strip()[:300])
        return proc.stdout.strip()

    def files(
        self,
        ref: str = "HEAD",
        *,
        max_bytes: int = MAX_FILE_BYTES,
        total_bytes: int = MAX_TOTAL_BYTES,
    ) -> dict[str, str]:
        """Path -> text of every regular text file at ``ref`` (binaries, links, files over
        ``max_bytes`` and those past ``total_bytes`` altogether left out)."""
        commit = self.commit(ref)
        listing = self._git("ls-tree", "-r", "-z", "--long", commit).stdout
        return self._texts(listing, max_bytes, total_bytes)

    def read(self, ref: str, path: str, *, max_bytes: int = READ_MAX_BYTES) -> str | None:
        """The text of the one regular file ``path`` at ``ref`` (None: absent, a link, binary,
        over ``max_bytes``). ``path`` is literal: no pathspec magic, no glob."""
        listing = self._git(
            "--literal-pathspecs", "ls-tree", "-z", "--long", self.commit(ref), "--", path
        )
        return self._texts(listing.stdout, max_bytes).get(path)

    def _texts(
        self, listing: str, max_bytes: int, total_bytes: int = MAX_TOTAL_BYTES
    ) -> dict[str, str]:
        """Path -> text of the regular text blobs of a ``ls-tree -z --long`` listing.

        All blobs come from one ``git cat-file --batch`` (not a process per file), and at most
        ``total_bytes`` of them: a hostile repository of many files can neither fill memory nor
        keep the host busy forking; files past the budget are left out, like big ones.
        """
        wanted: list[tuple[str, str]] = []
        budget = total_bytes
        for entry in listing.split("\0"):
            if not entry.strip():
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind != "blob" or mode not in ("100644", "100755") or not size.isdigit():
                continue  # a link, a submodule, a missing object ("-" or "BAD" for its size)
            if int(size) > min(max_bytes, budget):
                continue
            budget -= int(size)
            wanted.append((path, sha))
        if not wanted:
            return {}
        batch = subprocess.run(
            ["git", *SAFE, "-C", self.path, "cat-file", "--batch"],
            input="".join(f"{sha}\n" for _, sha in wanted).encode(),
            capture_output=True,
            timeout=120,
            env=_env(protocols=""),
        ).stdout
        out: dict[str, str] = {}
        pos = 0
        for path, _sha in wanted:
            end = batch.find(b"\n", pos)
            if end < 0:
                break
            header = batch[pos:end].split()
            if len(header) != 3:  # "<sha> missing"
                pos = end + 1
                continue
            blob = batch[end + 1 : end + 1 + int(header[2])]
            pos = end + 1 + int(header[2]) + 1
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
