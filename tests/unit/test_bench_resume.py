"""`bench_agents.py --resume FILE`: a run cut short continues where it stopped, with the same
figures as one run; an arm that did not finish a task runs it again (the council's arms together);
other settings are ignored.

The arms and the model are stand-ins (the arms' own logic is tested elsewhere): what is under test
is the run loop, the file and the RESULT lines built from both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_agents  # noqa: E402
from harness import ArmResult, BenchTask, count  # noqa: E402

from fleet.contracts import Story  # noqa: E402

TASKS = [
    BenchTask(
        id=f"t{n}",
        kind="stub",
        files={},
        story=Story(id=f"t{n}", title="t"),
        judge=lambda tree: (True, ""),
    )  # fmt: skip
    for n in range(4)
]


class Chat:
    label = ""
    trace = None

    def __init__(self, *_a, **_kw) -> None:
        pass


@pytest.fixture
def bench(monkeypatch):
    ran: list[str] = []
    stop = {"at": None}

    def arm(name: str, passes: set[str]):
        def run(tasks: list[BenchTask], chat: object, args: object) -> ArmResult:
            task = tasks[0]
            if stop["at"] == (name, task.id):
                raise KeyboardInterrupt
            ran.append(f"{name} {task.id}")
            res = ArmResult(tokens=10, seconds=60.0)
            count(res, task, task.id in passes)
            return res

        return run

    monkeypatch.setattr(bench_agents, "ARMS", {"a": arm("a", {"t0", "t2"}), "b": arm("b", {"t1"})})
    monkeypatch.setattr(bench_agents, "EngineChat", Chat)
    monkeypatch.setattr(bench_agents, "_task_list", lambda args: TASKS)
    return ran, stop


def results(out: str) -> dict[str, str]:
    return dict(ln.split()[1:3] for ln in out.splitlines() if ln.startswith("RESULT "))


def test_a_run_cut_short_resumes_with_the_figures_of_one_run(bench, tmp_path: Path, capsys):
    ran, stop = bench
    argv = ["--arm", "a,b", "--limit", "0", "--resume", str(tmp_path / "run.jsonl")]
    bench_agents.main(argv[:-2])  # one run, no file: the reference figures
    whole = results(capsys.readouterr().out)
    ran.clear()

    stop["at"] = ("b", "t2")  # cut in the third task, after arm a finished it
    bench_agents.main(argv)
    assert "INTERRUPTED after 2 of 4" in capsys.readouterr().out
    stop["at"] = None
    ran.clear()
    bench_agents.main(argv)
    out = capsys.readouterr().out
    assert ran == ["b t2", "a t3", "b t3"]  # t2 again for b only, t0-t1 from the file
    assert "t0 taken from the resume file" in out and "t2 done (1 of 2 arms from" in out
    assert results(out) == whole
    assert whole["a_pass_stub"] == "0.500" and whole["a_tokens"] == "40"


def test_figures_of_other_settings_are_ignored(bench, tmp_path: Path, capsys):
    ran, _stop = bench
    file = tmp_path / "run.jsonl"
    bench_agents.main(["--arm", "a", "--limit", "0", "--resume", str(file)])
    assert len(file.read_text().splitlines()) == 4
    file.write_text(file.read_text() + "{not json\n")
    ran.clear()
    bench_agents.main(["--arm", "a", "--limit", "0", "--resume", str(file), "--attempts", "1"])
    out = capsys.readouterr().out
    assert ran == ["a t0", "a t1", "a t2", "a t3"]  # other attempts: nothing reused
    assert "5 lines ignored (other settings or unreadable)" in out
    rows = [json.loads(ln) for ln in file.read_text().splitlines() if ln.startswith('{"')]
    assert {r["settings"]["attempts"] for r in rows} == {1, 2}


def test_the_councils_arms_are_taken_together_or_run_again_together(
    bench, monkeypatch, tmp_path: Path, capsys
):
    ran, _stop = bench
    cut = {"at": ("vote", "t1")}  # vote reuses the council's samples of the same sitting

    def arm(name: str):
        def run(tasks: list[BenchTask], chat: object, args: object) -> ArmResult:
            if cut["at"] == (name, tasks[0].id):
                raise KeyboardInterrupt
            ran.append(f"{name} {tasks[0].id}")
            res = ArmResult(tokens=10, seconds=60.0)
            count(res, tasks[0], True)
            return res

        return run

    monkeypatch.setattr(bench_agents, "ARMS", {n: arm(n) for n in ("council", "vote", "single")})
    argv = ["--arm", "council,vote,single", "--limit", "0", "--resume", str(tmp_path / "r.jsonl")]
    bench_agents.main(argv)
    cut["at"] = None
    ran.clear()
    bench_agents.main(argv)
    assert ran[:3] == ["council t1", "vote t1", "single t1"]  # the council again with its vote
    assert "t0 taken from the resume file" in capsys.readouterr().out
