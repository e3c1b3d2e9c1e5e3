"""The count of foreign lines in a ``fleet demo`` run (tests/integration/test_installed_package.py)
finds what other programs print and none of the fleet's own lines."""

from __future__ import annotations

from cluster.cli.progress import describe, plain
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story
from tests.integration.test_installed_package import foreign_lines

# as the demo printed them before Serve's driver logger went to demo.log, and what Ray, uvicorn
# and pip print when they reach the terminal
OTHERS = [
    'INFO 2026-11-25 12:40:07,123 serve 4711 -- Started Serve in namespace "serve".',
    "INFO 2026-11-25 12:40:31,870 serve 4711 -- Application 'gateway' is ready at http://127.0.0.1:8000/.",
    "WARNING 2026-11-25 12:40:09,001 serve 4711 -- The new client HTTP config differs",
    "2026-11-25 12:40:01,234\tINFO worker.py:1832 -- Connecting to existing Ray cluster at address: 127.0.0.1:6379...",
    "(ServeController pid=5120) INFO 2026-11-25 12:40:08,300 controller 5120 -- Deploying new app 'gateway'.",
    "(ProxyActor pid=5188) INFO 2026-11-25 12:40:09,000 proxy 127.0.0.1 -- Proxy starting on node",
    "(OrchestratorActor pid=5301) story s1 parked",
    'INFO:     127.0.0.1:51234 - "GET /healthz HTTP/1.1" 200 OK',
    "/venv/lib/python3.12/site-packages/ray/_private/worker.py:2046: FutureWarning: Tip: ...",
    "Collecting swe-ai-fleet",
    "Successfully installed swe-ai-fleet-0.1.0",
    "[notice] A new release of pip is available: 24.0 -> 25.3",
]

# the fleet's own: the demo's headers, the stack's status, the progress lines, the report's end
OWN = [
    "== starting the local stack (model: scripted; data in /tmp/x/data)",
    "data dir: /tmp/x/data",
    "ray head: running (pid 4711)",
    "  dashboard: http://127.0.0.1:8265",
    "== submitted demo-1: Add a divide function",
    "   repo: /tmp/x/data/sample_repo",
    "other programs' log lines: /tmp/x/data/logs/demo.log",
    "stop everything with: fleet down",
    plain("INFO and WARNING are words a story may use"),
]


def test_other_programs_lines_are_counted_and_the_fleets_are_not():
    clock = FakeClock()
    progress = [
        line
        for ev in sample_story("s1", clock=clock, tasks=2)
        if (line := describe(ev.model_dump(by_alias=True)))
    ]
    assert len(progress) > 10  # the fleet's own progress lines of a whole story
    stdout = "\n".join([*OWN, *progress, *OTHERS[:6]]) + "\n"
    found = foreign_lines(stdout, "\n".join(OTHERS[6:]))
    assert found == OTHERS, set(OTHERS) ^ set(found)
    assert foreign_lines("\n".join([*OWN, *progress]), "") == []


def test_the_report_may_quote_anything():
    report = "\n== report\n" + "\n".join(OTHERS)
    assert foreign_lines(OWN[0] + report, "") == []
    assert foreign_lines(OWN[0], OTHERS[0]) == [OTHERS[0]]  # stderr: counted whole
