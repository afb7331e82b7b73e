"""Specification: a project's declared prices are floors. Spend, and so every budget, is measured with
the prices a job declares; an input that declared a lower labor rate or vendor price than its project's
settings would run past its budget unseen."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labelchain.core.job_input import parse_job_input
from labelchain.core.project_settings import check_ceilings, parse_project_settings, project_prices
from labelchain.errors import InvalidJobInput
from tests.support.project_settings import example_settings

UPLOAD = "s3://labelchain-data/incoming/birds/batch-1.manifest"
VENDOR = {
    "kind": "vendor",
    "workteam_arn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/acme-labeling",
    "workers_per_object": 1,
    "price_per_object_usd": "0.10",
}


def project(**changes: Any):  # type: ignore[no-untyped-def]
    return parse_project_settings(json.dumps(example_settings(ceilings=None, **changes)), "birds")


def console(**changes: Any):  # type: ignore[no-untyped-def]
    raw = {**example_settings(ceilings=None), "project": "birds", "manifest": UPLOAD, **changes}
    return parse_job_input(raw)


def test_an_input_declaring_a_lower_labor_rate_than_its_project_is_refused() -> None:
    settings = project(prices={"labor_rate_usd_per_hour": "30"})

    with pytest.raises(InvalidJobInput, match=r"prices.labor_rate_usd_per_hour: 1 is below project 'birds'"):
        check_ceilings(console(prices={"labor_rate_usd_per_hour": "1"}), settings)
    check_ceilings(console(prices={"labor_rate_usd_per_hour": "45"}), settings)  # raising it is fine
    assert project_prices(settings) is not None


def test_a_vendor_price_below_the_projects_is_refused() -> None:
    settings = project(workforce=VENDOR)

    with pytest.raises(InvalidJobInput, match=r"workforce.price_per_object_usd: 0.0001 is below"):
        check_ceilings(console(workforce={**VENDOR, "price_per_object_usd": "0.0001"}), settings)
    check_ceilings(console(workforce=VENDOR), settings)
