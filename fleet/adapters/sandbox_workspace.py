"""A member's own copy of the repository for the tool loop, with commands run in the sandbox.

The copy is a plain directory of the base files (no ``.git``), written by the host and only
readable by the sandboxed commands (the model changes it through edit blocks): nothing a command
does can reach host git or the copy. Files are read back without following links, and the diff is
computed in Python (``fleet.patches.make_patch``), never by running git in the copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

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
            Path(root).mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="fleet-loop-", dir=root))
        os.chmod(
            self.dir, 0o755
        )  # sandboxed runs (an unprivileged uid) read, never write, the copy
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
        out: dict[str, str] = {}
        for top, dirs, names in os.walk(self.dir, followlinks=False):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for name in names:
                full = Path(top) / name
                if full.is_symlink() or not full.is_file() or full.stat().st_size > MAX_READ:
                    continue
                try:
                    out[str(full.relative_to(self.dir))] = full.read_text()
                except (UnicodeDecodeError, OSError):
                    continue
        return out

    def write(self, files: Mapping[str, str]) -> None:
        real_root = os.path.realpath(self.dir)
        for rel, text in files.items():
            if why := path_problem(rel):
                raise EditError(reason="unsafe_path", path=rel, detail=why)
            target = self.dir / rel
            if not os.path.realpath(target.parent).startswith(real_root) or target.is_symlink():
                raise EditError(reason="unsafe_path", path=rel, detail="writes through a link")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            os.chmod(target, 0o644)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
