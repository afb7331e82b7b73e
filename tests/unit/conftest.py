"""tests/unit is the pure set: no moto, no CDK, no network. When a run collects only tests from here
(``make test-fast``), it fails at the end if any of them loaded a package of the moto-backed or
synthesizing tests, naming the package and the test modules collected, so a pure test cannot quietly
become a slow or service-backed one. A run of the whole suite loads those packages for the other
directories and is not checked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

UNIT_TESTS = Path(__file__).resolve().parent
NOT_PURE = ("moto", "aws_cdk", "jsii", "constructs", "cdk_nag", "cfnlint")
"""Top-level packages of moto and of CDK synthesis (jsii starts a Node.js process)."""


def loaded_packages_that_are_not_pure() -> list[str]:
    return sorted({name.split(".")[0] for name in sys.modules} & set(NOT_PURE))


def only_unit_tests_collected(session: pytest.Session) -> bool:
    return bool(session.items) and all(UNIT_TESTS in item.path.parents for item in session.items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not only_unit_tests_collected(session):
        return
    if loaded := loaded_packages_that_are_not_pure():
        message = (
            f"tests/unit must stay pure, but this run loaded {', '.join(loaded)}: a unit test (or a module "
            "it imports, e.g. a tests/support helper) imports it; move that test to tests/integration or "
            "import a pure helper instead"
        )
        terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write("\n")
            terminal.write_sep("!", "impure unit tests", red=True, bold=True)
            terminal.write_line(message, red=True)
        else:
            print(message, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
