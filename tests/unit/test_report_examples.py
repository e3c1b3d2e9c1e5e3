"""A bug report's own examples as a test, by code (fleet/evidence/report_examples.py): the pairs
found in users' words, the ones refused (ambiguous, not literal, unknown names), the test written."""

from __future__ import annotations

import ast

from fleet.evidence.report_examples import PATH, examples, import_table, report_test
from fleet.patches.imports import add_missing_imports

FILES = {
    "shop/__init__.py": "",
    "shop/prices.py": "def total(items, tax=0):\n    return sum(items)\n\n\nclass Cart:\n    pass\n",
    "shop/other.py": "def total(x):\n    return x\n",
    "shop/units.py": "def round_to(x, step):\n    return x\n",
    "tests/test_prices.py": "def test_nothing():\n    pass\n",
}


def test_returned_then_expected_values_pair_in_order():
    report = ("`total([1, 2], tax=10)` returns `3` and `round_to(7, 5)` gives `5`.\n"
              "I expected `3.3` and `10` respectively.")  # fmt: skip
    assert examples(report) == [("total([1, 2], tax=10)", "3.3"), ("round_to(7, 5)", "10")]


def test_direct_expectations_and_bare_values():
    report = ("I expected `round_to(7, 5)` to be 10, and `total([])` should return `0`. "
              "Also `round_to(0, 5) == 0` holds.")  # fmt: skip
    assert examples(report) == [("round_to(7, 5)", "10"), ("total([])", "0")]


def test_ambiguous_or_unwritable_reports_give_nothing():
    # two expected values for one call: which one?
    assert examples("`total([1])` returns `2`. I expected `1`, or maybe `[1]`.") == []
    # the expected result is built by code the repository does not define: nothing to assert
    decimal = "`total([1])` returns `2`. I expected `Decimal('1')`."
    assert examples(decimal) == [("total([1])", "Decimal('1')")]
    assert report_test(FILES, decimal) is None
    # "is right" says nothing was wrong with that call: not an observed result
    assert examples("`total([1])` returns `2`; `total([2])` is right. I expected `1`.") == [
        ("total([1])", "1")
    ]
    assert examples("total([1]) returns 2, I expected 1") == []  # no code spans: QA's job


def test_the_test_imports_what_the_calls_name_and_asserts_each_example():
    report = (
        "`round_to(7, 5)` returns `5`. I expected `10`. `shop.units.round_to(1, 1)` should be `1`."
    )
    path, source = report_test(FILES, report)
    assert path == PATH
    tree = ast.parse(source)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == [
        "test_report_example_1", "test_report_example_2",
    ]  # fmt: skip
    assert "from shop.units import round_to\nimport shop\n" in source
    assert (
        "assert round_to(7, 5) == 10" in source
        and "assert shop.units.round_to(1, 1) == 1" in source
    )


def test_a_name_defined_twice_is_taken_from_the_located_module_or_not_at_all():
    report = "`total([1, 2])` returns `0`. I expected `3`."
    assert report_test(FILES, report) is None  # shop/prices.py or shop/other.py?
    _, source = report_test(FILES, report, [("shop/prices.py", "total")])
    assert "from shop.prices import total" in source


def test_lambda_arguments_are_not_imports_and_booleans_are_compared_by_identity():
    report = "`round_to(3, (lambda s: s)(2))` returns `3`. I expected `True` or rather `4`."
    assert report_test(FILES, report) is None  # ambiguous: two expected values
    _, source = report_test(FILES, "I expected `round_to(3, (lambda s: s)(2))` to be True.")
    assert "assert round_to(3, (lambda s: s)(2)) is True" in source and "import s" not in source


def test_a_builtin_exception_class_is_a_pure_name_in_an_example():
    report = "`round_to(ZeroDivisionError, default=0)(lambda: 1 / 0)()` should return 0."
    _, source = report_test(FILES, report)
    assert "assert round_to(ZeroDivisionError, default=0)(lambda: 1 / 0)() == 0" in source
    assert "import ZeroDivisionError" not in source
    assert report_test(FILES, "`round_to(OSErrorr, 1)` should return 0.") is None  # not one


def test_unknown_names_and_an_existing_file_name():
    assert report_test(FILES, "`frobnicate(1)` returns `2`. I expected `1`.") is None
    files = {**FILES, PATH: "x = 1\n"}
    path, _ = report_test(files, "`round_to(7, 5)` returns `5`. I expected `10`.")
    assert path == "tests/test_report_example_2.py"


def test_import_table_places_only_names_that_can_mean_one_thing():
    table = import_table(FILES)
    assert table["round_to"] == "from shop.units import round_to"
    assert table["Cart"] == "from shop.prices import Cart"
    assert table["shop"] == "import shop"
    assert "total" not in table  # two modules define it
    assert "test_nothing" not in table  # tests are not the repository's code


def test_a_qa_test_gets_the_repository_imports_it_forgot():
    test = (
        "def test_round():\n    assert round_to(7, 5) == 10\n    assert shop.units.round_to(1, 1)\n"
    )
    fixed, added = add_missing_imports(test, extra=import_table(FILES))
    assert added == ["import shop", "from shop.units import round_to"]
    assert fixed.startswith("import shop\nfrom shop.units import round_to\n\ndef test_round():")
    # a name the test binds itself, or an ambiguous one, is left alone
    own = "def round_to(x, y):\n    return 0\n\ndef test_t():\n    assert total([1]) == round_to(1, 1)\n"
    assert add_missing_imports(own, extra=import_table(FILES)) == (own, [])


def test_an_expected_value_built_by_the_repositorys_code_is_asserted():
    report = ("`total([1, 2])` returns `Cart()`. I expected `Cart(3)`, not a new one: like "
              "`str.removesuffix('')` does nothing.")  # fmt: skip
    assert examples(report) == [("total([1, 2])", "Cart(3)")]
    # the report's call named again as what the user expected it to do is not a value: it is
    # the expectation itself (a raise)
    subject = "`round_to(7, 5)` returns `5`. I expected `round_to(7, 5)` to raise ValueError."
    assert examples(subject) == [("round_to(7, 5)", "raises ValueError")]
    files = {**FILES, "shop/other.py": "def other(x):\n    return x\n"}  # total: one module now
    path, source = report_test(files, report)
    assert "from shop.prices import Cart\nfrom shop.prices import total\n" in source
    assert "assert total([1, 2]) == Cart(3)" in source


def test_a_call_said_to_raise_a_builtin_exception_becomes_a_pytest_raises_test():
    report = (
        "With `tax=-1`, `total([1], tax=-1)` raises `ValueError: negative tax`; I expected "
        "`round_to(1, 0)` to raise a ZeroDivisionError, and `total(None)` should raise TypeError."
    )
    assert examples(report) == [
        ("total([1], tax=-1)", "raises ValueError"),
        ("round_to(1, 0)", "raises ZeroDivisionError"),
        ("total(None)", "raises TypeError"),
    ]
    path, source = report_test(FILES, report)
    assert source.startswith("import pytest\n")
    assert "    with pytest.raises(ZeroDivisionError):\n        round_to(1, 0)\n" in source
    ast.parse(source)
    # past tense is what it did (a bug's symptom); a class is a builtin one or the repository's
    assert examples("`total([1])` raised `ValueError`.") == []
    own = "`round_to(1, 0)` raises `PriceError`, `round_to(2, 0)` raises os.error."
    assert examples(own) == [("round_to(1, 0)", "raises PriceError")]
    assert report_test(FILES, own) is None  # nobody defines PriceError
    files = {**FILES, "shop/errors.py": "class PriceError(ValueError):\n    pass\n"}
    _, source = report_test(files, own)
    assert "from shop.errors import PriceError\n" in source
    assert "with pytest.raises(PriceError):\n        round_to(1, 0)" in source


def test_a_change_story_s_stated_result_is_its_example_and_a_bug_report_s_is_not():
    story = (
        "Please add `up`: `round_to(7, 5, up=True)` returns `10`, and `round_to(7, 5)` returns `5`."
    )
    assert examples(story) == []  # a bug's "returns" is its symptom
    assert examples(story, stated=True) == [
        ("round_to(7, 5, up=True)", "10"),
        ("round_to(7, 5)", "5"),
    ]
    _, source = report_test(FILES, story, kind="change")
    assert "assert round_to(7, 5, up=True) == 10" in source
    assert report_test(FILES, story) is None
    # an expectation the story pairs wins over the stated result
    both = "`round_to(7, 5)` returns `5`. I expected `10`."
    assert examples(both, stated=True) == [("round_to(7, 5)", "10")]


def test_what_instead_of_names_is_the_expectation():
    cases = {
        "`round_to(7, 5)` raises a TypeError instead of returning `10`.": "10",
        "`round_to(7, 5)` gives `5` instead of `10`.": "10",
        "`round_to(7, 5)` returns 5 instead of 10.": "10",
        "`round_to(7, 5)` returns 5 instead of 7.5, as documented.": "7.5",
        "`round_to(7, 5)` returns None instead of raising ValueError.": "raises ValueError",
        "`round_to(7, 5)` returns `None` instead of raising `KeyError: 'x'`.": "raises KeyError",
    }
    for report, value in cases.items():
        assert examples(report) == [("round_to(7, 5)", value)], report
    # nothing assertable after it: no example
    assert examples("`round_to(7, 5)` returns None instead of the list.") == []
    assert examples("`round_to(7, 5)` returns 5 instead of 10x.") == []
    assert examples("Instead of `round_to(7, 5)` I call `total([1])`.") == []


def test_a_helper_the_report_defines_is_written_into_the_test():
    report = (
        "Define `def boom(): raise ValueError('down')`; `total([boom])` returns None instead of "
        "raising ValueError. And `def leak(): return open('/etc/passwd').read()`: "
        "`round_to(leak(), 5)` should return `0`."
    )
    assert examples(report) == [
        ("total([boom])", "raises ValueError"),
        ("round_to(leak(), 5)", "0"),
    ]
    files = {**FILES, "shop/other.py": "def other(x):\n    return x\n"}  # total: one module now
    _, source = report_test(files, report)
    assert "def boom():\n    raise ValueError('down')" in source
    assert "with pytest.raises(ValueError):\n        total([boom])" in source
    assert "leak" not in source and "open(" not in source  # an impure helper: no test of it
