"""cfn-lint accepts the synthesized template with no error and no warning, in every supported region."""

from __future__ import annotations

import pytest
from cfnlint.api import lint  # type: ignore[import-untyped]
from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

from labelchain.core.regions import SUPPORTED_REGIONS
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra


def test_cfn_lint_reports_no_error_and_no_warning_in_any_ground_truth_region(assembly: CloudAssembly) -> None:
    matches = lint(
        assembly.template_path.read_text(encoding="utf-8"),
        config=ManualArgs(regions=list(SUPPORTED_REGIONS)),
    )

    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
