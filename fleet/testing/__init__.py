"""Test doubles of the ports and deterministic sample data, for tests and benchmarks.

- :mod:`fleet.testing.fakes`: ``FakeClock``, ``InMemoryEventLog``, ``ScriptedChatModel`` and
  ``instance_of`` (a deterministic instance of a JSON schema);
- :mod:`fleet.testing.council`: scripts that make scripted models act as council members;
- :mod:`fleet.testing.sample_timeline`: a realistic story timeline (events) for the memory tests.

Production code (``fleet/``, ``actors/``, ``serve_apps/``, ``cluster/``) never imports this
package at module level (``tests/unit/test_architecture.py`` checks it). The one exception is
the user-facing ``scripted`` model backend (``--model scripted``, ``config/models.yaml``): the
adapter registry names ``fleet.testing.fakes:ScriptedChatModel`` and imports it only when that
backend is asked for, and the bundled sample's scripts for it
(:mod:`fleet.orchestrator.sample`) import ``instance_of`` inside the script, which only that
model calls.
"""
