"""What the optimizer test tables share: one case per registered name, or a reason why not.

The validation, convergence and parity modules each keep one table, ``CASES``, keyed by
registry name, and parametrize their tests over :func:`applicable` names, so a newly
registered name is tested wherever a built-in one is, and :func:`check_table` (each
module's ``test_every_registered_optimizer_has_a_case``) fails until it has a case.
"""

from dataclasses import dataclass
from pathlib import Path

from gradwise.optim import registry

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NotApplicable:
    """A table's tests do not apply to a name: why, and which tests cover it instead
    (``"test_file.py::test_function"``)."""

    reason: str
    covered_by: tuple = ()


def applicable(cases):
    """The registered names whose entry in ``cases`` is a case, in the registry's order (a
    name without an entry fails :func:`check_table` instead)."""
    return [n for n in registry.names() if n in cases and not isinstance(cases[n], NotApplicable)]


def check_table(cases, module):
    """Every registered name has an entry; every entry is a registered name; every
    :class:`NotApplicable` gives a reason and names tests that exist."""
    missing = sorted(set(registry.names()) - set(cases))
    assert not missing, (
        f"registered optimizers without a case in {module}'s CASES: {', '.join(missing)} "
        "(add one, or NotApplicable(reason) saying why the tests do not apply)"
    )
    unknown = sorted(set(cases) - set(registry.names()))
    assert not unknown, f"{module}'s CASES has names the registry does not know: {unknown}"
    for name, case in cases.items():
        if isinstance(case, NotApplicable):
            assert case.reason.strip(), f"{module}: {name} is not applicable, without a reason"
            for test in case.covered_by:
                file, _, function = test.partition("::")
                source = (TESTS / file).read_text()
                assert f"def {function}(" in source, f"{module}: {name}: no test {test}"
