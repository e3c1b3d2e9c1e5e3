"""A member's own copy of the repository for the tool loop, with commands run in the sandbox.

The copy is a plain directory of the base files (no ``.git``), written by the host and only
readable by the sandboxed commands (the model changes it through edit blocks): nothing a command
does can reach host git or the copy. Every host-side operation on the copy goes through
``untrusted_fs`` (beneath the copy, no link followed, iterative walks: where the sandbox runs as
the host's own user it could shape the copy), and the diff is computed in Python
(``fleet.patches.make_patch``), never by running git in the copy.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

from fleet.adapters.untrusted_fs import Tree, rmtree
from fleet.contracts import TEST_PROCESSES, Resources, RunContext, TaskSpec
from fleet.patches import EditError
from fleet.ports import Sandbox
from fleet.workspace import path_problem

SKIP_DIRS = {".git", ".fleet", "__pycache__", ".pytest_cache", ".ruff_cache"}
MAX_READ = 200_000


class SandboxWorkspace:
    """``LoopWorkspace`` over a temporary directory and the ``Sandbox`` port."""

    def __init__(
        self,
        sandbox: Sandbox,
        files: Mapping[str, str],
        *,
        context: RunContext,
        root: str | Path | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.sandbox, self.context, self.timeout_s = sandbox, context, timeout_s
        if root is not None:
            Path(root).mkdir(parents=True, exist_ok=True)  # the fleet's own directory
        self.dir = Path(tempfile.mkdtemp(prefix="fleet-loop-", dir=root))
        # sandboxed runs (an unprivileged uid) read, never write, the copy mkdtemp just made
        os.chmod(self.dir, 0o755)
        self.write(files)

    def run(self, argv: list[str]) -> tuple[int, str]:
        spec = TaskSpec(
            id=f"{self.context.task_id or 'loop'}:step:{uuid.uuid4().hex[:8]}",
            cmd=tuple(argv),
            workspace=str(self.dir),
            timeout_s=self.timeout_s,
            env={"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/tmp/pycache"},
            resources=Resources(
                cpu_seconds=int(self.timeout_s), memory_mb=1024, processes=TEST_PROCESSES
            ),
            context=self.context,
        )
        result = self.sandbox.run(spec)
        if result.status == "denied":
            return 126, f"denied by policy: {result.reason}"
        code = result.exit_code if result.exit_code is not None else -1
        return code, (result.stdout + result.stderr) or f"({result.status})"

    def files(self) -> dict[str, str]:
        """The copy's text files (links and files over ``MAX_READ`` bytes left out)."""
        out: dict[str, str] = {}
        with Tree(self.dir) as tree:
            for entry in tree.walk():
                entry.dirs[:] = [d for d in entry.dirs if d not in SKIP_DIRS]
                for name in entry.files:
                    rel = name if entry.path == "." else f"{entry.path}/{name}"
                    data = tree.read_bytes(rel, cap=MAX_READ + 1)  # None: a link, a FIFO...
                    if data is None or len(data) > MAX_READ:
                        continue
                    try:
                        out[rel] = data.decode("utf-8")
                    except UnicodeDecodeError:
                        continue
        return out

    def write(self, files: Mapping[str, str]) -> None:
        with Tree(self.dir) as tree:
            for rel, text in files.items():
                if why := path_problem(rel):
                    raise EditError(reason="unsafe_path", path=rel, detail=why)
                try:
                    tree.write_text(rel, text, mode=0o644, parents=True)
                except OSError as exc:
                    raise EditError(
                        reason="unsafe_path", path=rel, detail=f"writes through a link ({exc})"
                    ) from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            rmtree(self.dir)
