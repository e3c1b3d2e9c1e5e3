"""The fleet's actors run at normal priority: Ray starts its workers at nice 15, at which any
other work on the machine starved the fleet's control plane (a fault's recovery took minutes)."""

from __future__ import annotations

import os
import sys
import uuid

from actors.builder import ActorOptions, build


class Probe:
    def nice(self) -> list[int]:
        """The nice value of every thread of the actor's process (Linux: per thread)."""
        return [os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")]


def test_fleet_actors_run_at_nice_0_and_rays_default_is_kept_on_request(ray_cluster):
    ray = ray_cluster
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    fleet = build(Probe, ActorOptions(name=f"probe-{uuid.uuid4().hex[:6]}", detached=False))
    kept = build(
        Probe, ActorOptions(name=f"probe-{uuid.uuid4().hex[:6]}", detached=False, niceness=None)
    )
    try:
        assert set(ray.get(fleet.nice.remote())) == {0}
        assert max(ray.get(kept.nice.remote())) == 15  # Ray's default, what the fleet left behind
    finally:
        ray.kill(fleet)
        ray.kill(kept)
