"""Shared test setup: fake credentials and a complete Lambda environment, never a real AWS call."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelchain.settings import Settings, get_settings

SHARED_DIRECTORY_VARIABLE = "LABELCHAIN_TEST_CDK_OUT"
"""Where pytest-xdist workers share the session's one synthesis (``tests/support/synth.py``)."""
ACCOUNT = "123456789012"
REGION = "us-east-1"
TEST_SETTINGS = Settings(
    resource_prefix="labelchain",
    table_name="labelchain-table",
    data_bucket="labelchain-data",
    output_bucket="labelchain-output",
    kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555",
    ground_truth_role_arn=f"arn:aws:iam::{ACCOUNT}:role/labelchain-ground-truth",
    default_prices="{}",
    region=REGION,
)


@pytest.fixture(autouse=True)
def _offline_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "LabelChain",
        "POWERTOOLS_SERVICE_NAME": "labelchain",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    """With ``-n N`` (pytest-xdist), the controller names the directory its workers share one synthesis
    in (the first worker that needs it synthesizes; see tests/support/synth.py) and removes it at the end."""
    is_worker = hasattr(config, "workerinput")
    if is_worker or not config.getoption("numprocesses", default=None):
        return
    directory = Path(tempfile.mkdtemp(prefix="labelchain-test-synth-"))
    os.environ[SHARED_DIRECTORY_VARIABLE] = str(directory / "cdk.out")
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
