"""Fixtures of the moto-backed tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.aws import moto_account


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any, Any]]:
    """One moto account (S3, DynamoDB and a SageMaker client) per test module: starting moto per test
    would dominate the run time. A module that needs more set-up defines its own ``aws``."""
    with moto_account() as (s3, dynamodb, sagemaker):
        yield s3, dynamodb, sagemaker
