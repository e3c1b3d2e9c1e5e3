"""Hostile model output on the patch path: edits that try to leave the repository, write git
internals or smuggle a symlink never become a patch, and the checker refuses such diffs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleet.adapters.git_repo import GitRepo
from fleet.agents import PatchFailed, author_messages, write_patch
from fleet.contracts import Patch
from fleet.testing.fakes import ScriptedChatModel

FILES = {"app.py": "X = 1\n"}


@pytest.mark.parametrize(
    "path", ["../escape.py", "/etc/cron.d/fleet", ".git/hooks/post-checkout", "a/../../up.py"]
)
def test_edits_outside_the_repository_are_refused_twice_and_never_become_a_patch(path) -> None:
    reply = f"{path}\n<<<<<<< SEARCH\n=======\nimport os\nos.system('id')\n>>>>>>> REPLACE\n"
    model = ScriptedChatModel(script=lambda messages, schema: reply)
    with pytest.raises(PatchFailed) as err:
        write_patch(model, author_messages("ctx"), FILES, base_commit="c")
    assert model.calls == 2 and "unsafe" not in err.value.raw  # the reason is in .reason
    assert any(w in err.value.reason for w in ("absolute", "'..'", ".git"))


def test_the_checker_refuses_symlinks_and_escapes_in_hand_made_diffs(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("X = 1\n")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *cmd], check=True)  # fmt: skip
    git = GitRepo(tmp_path)
    link = ("diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n"
            "+/etc/passwd\n\\ No newline at end of file\n")  # fmt: skip
    assert "symlink" in (git.check(Patch(base_commit=git.commit(), diff=link)) or "")
    hook = "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+id\n"
    assert ".git" in (git.check(Patch(base_commit=git.commit(), diff=hook)) or "")
    assert not (tmp_path / ".git" / "hooks" / "pre-commit").exists()


def test_reading_a_named_file_takes_the_name_literally_and_never_follows_a_link(
    tmp_path: Path,
) -> None:
    """A failing test's id names the file the fleet reads for its source; the id comes from test
    output a hostile repository controls. Pathspec magic, globs and links read nothing."""
    (tmp_path / "secret.py").write_text("TOKEN = 'x'\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    (tmp_path / "tests" / "link.py").symlink_to("/etc/passwd")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *cmd], check=True)  # fmt: skip
    git = GitRepo(tmp_path)
    assert git.read("HEAD", "tests/test_a.py") == "def test_a():\n    pass\n"
    for name in (":(glob)**/secret.py", "*.py", "s*", ":/secret.py", "tests/link.py",
                 "../secret.py", "tests/../secret.py", "-p"):  # fmt: skip
        assert git.read("HEAD", name) is None, name


def test_a_repository_of_many_files_is_read_within_a_total_budget(tmp_path: Path) -> None:
    """Every file under the per-file cap is not enough: 400 files of 20 kB are 8 MB read into
    the context service and council prep. A read stops taking files at its total budget, and
    the files it keeps are whole (one `git cat-file --batch`, not a process per file)."""
    body = "x = 1\n" * 3_400  # 20,400 bytes
    for i in range(400):
        (tmp_path / f"m{i:03}.py").write_text(body)
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *cmd], check=True)  # fmt: skip
    git = GitRepo(tmp_path)
    kept = git.files(total_bytes=1_000_000)
    assert 0 < len(kept) <= 1_000_000 // len(body) and all(t == body for t in kept.values())
    assert len(git.files()) == 400  # the default budget (32 MB) holds an ordinary repository
