"""The build step of a story task, as one pipeline of plain functions over ports.

evidence suite -> council -> apply -> gate -> deliver:

1. :func:`fleet.pipeline.suite.task_suite`: QA's acceptance tests, kept only if they fail on the
   base commit, plus the repository's own tests (checkpointed per deliberation).
2. :func:`fleet.pipeline.council.deliberate`: the council decides the change, judged by the suite.
3. :func:`fleet.pipeline.apply.execute`: the winning patch (or the developer model's change)
   applied in a fresh workspace and checked in the sandbox; the rigor gate, evaluated once,
   decides the commit.
4. :func:`fleet.pipeline.apply.deliver`: the story's committed runs into the user's repository.

Every step takes the story's :class:`~fleet.orchestrator.view.StoryView`, folded once by the
orchestrator's driver, and never re-reads the timeline. Where the code is
(:mod:`fleet.pipeline.sources`) is decided once per step from that view; a remote repository is
cloned once per story. The actors (``actors/story_council.py``, ``actors/story_services.py``)
host these functions and pass Ray-backed ports (``actors/story_ports.py``).
"""
