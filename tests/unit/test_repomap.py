"""Repository map and relevant code in context packs: ranking, signatures, budget, redaction."""

from __future__ import annotations

import pytest

from fleet.config import load
from fleet.context import StoryDigest
from fleet.context.builder import require_scopes
from fleet.context.repomap import index, rank, words
from fleet.contracts import FleetEvent, Story, Task
from fleet.errors import ConfigError

SECRET = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
REPO = {
    "shapes/__init__.py": '"""Shapes."""\nfrom shapes.circle import Circle\n',
    "shapes/circle.py": (
        f'"""Circles."""\nimport math\n\nTILE_API_KEY = "{SECRET}"\n\n\nclass Circle:\n    """A circle by its radius."""\n\n'
        "    def __init__(self, radius: float) -> None:\n        self.radius = radius\n\n"
        "    def perimeter(self) -> float:\n        return 2 * math.pi * self.radius\n"
    ),
    "shapes/render.py": '"""Drawing."""\nfrom shapes.circle import Circle\n\n\n'
    "def draw(c: Circle) -> str:\n    return 'o'\n",
    "textutil/slug.py": '"""Slugs for titles."""\n\n\ndef slugify(title: str) -> str:\n'
    '    """Lower-case, dashes for spaces."""\n    return title.lower().replace(" ", "-")\n',
    "settings.py": f'API_KEY = "{SECRET}"\nDEBUG = False\n',
    "README.md": "# shapes\nGeometry helpers.\n",
}


def _digest(story: Story, task: Task) -> StoryDigest:
    d = StoryDigest(story.id)
    events = [
        FleetEvent(id="e1", story_id=story.id, type="story.created", at_ms=1, payload=story),
        FleetEvent(id="e2", story_id=story.id, type="task.planned", at_ms=2, payload=task),
    ]
    d.apply_all([(f"{i}-0", e) for i, e in enumerate(events, 1)])
    return d


STORY = Story(
    id="S1",
    title="Circle area",
    description="As a user I want the area of a Circle so that I can size paint.",
    acceptance_criteria=("Circle(2).area() returns 4*pi",),
)
TASK = Task(id="T1", story_id="S1", role="developer", description="Add Circle.area()")


def test_words_split_identifiers() -> None:
    assert {"circle", "area", "circle_area", "getarea", "get"} <= set(words("circle_area getArea"))


def test_ranking_prefers_matching_files_and_their_import_neighbours() -> None:
    ranked = [p for p, _ in rank(index(REPO), "area of a Circle")]
    assert ranked[0] == "shapes/circle.py"
    assert ranked.index("shapes/render.py") < ranked.index("textutil/slug.py")


def test_pack_holds_the_map_and_the_relevant_code_redacted_within_budget(builder, tok) -> None:
    d = _digest(STORY, TASK)
    pack = builder.build(d, "developer", "build", task_id="T1", repo=REPO)
    sections = {s.name: s.content for s in pack.sections}
    assert {"story", "task", "code", "repo_map"} <= set(sections)
    assert "def perimeter(self) -> float" in sections["repo_map"]
    assert "class Circle  # A circle by its radius." in sections["repo_map"]
    assert sections["code"].startswith("### shapes/circle.py\n")
    assert SECRET not in pack.render() and pack.redacted >= 1
    assert pack.token_count == tok.count(pack.render()) <= pack.budget
    small = builder.build(d, "developer", "build", task_id="T1", repo=REPO, budget=250)
    assert tok.count(small.render()) <= 250 and small.dropped


def test_without_a_repository_the_pack_has_no_repository_sections(builder) -> None:
    pack = builder.build(_digest(STORY, TASK), "developer", "build", task_id="T1")
    assert not {"code", "repo_map"} & {s.name for s in pack.sections}


def test_every_agent_role_has_a_scope_for_every_phase_the_fleet_uses() -> None:
    require_scopes(load("scopes.yaml"), load("roles.yaml").agent_roles())
    with pytest.raises(ConfigError, match=r"scopes\.tester\.build"):
        require_scopes(load("scopes.yaml"), ["developer", "tester"])


def test_the_code_shows_source_files_before_the_tests_and_documents_that_match_better() -> None:
    from fleet.context.repomap import code_items

    files = {
        "README.md": "# calc\nMissing: calc.divide(a, b) should divide numbers.\n",
        "tests/test_ops.py": "from calc import add\n\n\ndef test_add_numbers():\n    assert add(1, 2)\n",
        "calc/ops.py": "def add(a, b):\n    return a + b\n",
        "calc/__init__.py": "from calc.ops import add\n",
    }
    query = "Add a divide operation to calc: divide numbers the way I add them"
    infos = index(files)
    items = code_items(files, infos, rank(infos, query), query)
    paths = [item.split("\n", 1)[0].removeprefix("### ") for item in items]
    assert set(paths[:2]) == {"calc/ops.py", "calc/__init__.py"}
    assert set(paths[2:]) == {"README.md", "tests/test_ops.py"}
