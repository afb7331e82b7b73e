"""Specification of ``labelchain project-settings``: the operator's put (validated, versioned, who and
when), show and list, over moto's DynamoDB and STS."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelchain.adapters.store import JobStore
from labelchain.cli import project_settings
from labelchain.cli.aws import Aws
from labelchain.cli.exits import CliError
from labelchain.cli.inputs import read_input_file
from tests.conftest import REGION, TEST_SETTINGS
from tests.support.aws import create_table
from tests.support.project_settings import EXAMPLE_SETTINGS_PATH, example_settings

EXAMPLE = str(EXAMPLE_SETTINGS_PATH)


def run(*argv: str) -> int:
    """One ``labelchain project-settings`` command; a ``CliError`` becomes its exit code (as main does)."""
    parser = argparse.ArgumentParser(prog="labelchain")
    project_settings.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([project_settings.NAME, *argv, "--region", REGION])
    try:
        code: int = args.run(args)
    except CliError as exc:
        print(str(exc))
        return exc.code
    return code


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        table = JobStore(client, TEST_SETTINGS.table_name)
        monkeypatch.setattr(Aws, "store", lambda self, table_name=None: table)
        yield table


def write(tmp_path: Path, document: dict[str, Any] | str) -> str:
    path = tmp_path / "settings.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def test_put_writes_version_one_with_who_and_when_then_the_next_version(
    store: JobStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run("put", "birds", "--file", EXAMPLE) == 0
    changed = write(tmp_path, example_settings(max_concurrent_tasks=100))
    assert run("put", "birds", "--file", changed) == 0

    record = store.project_settings("birds")
    assert record is not None
    assert record.version == 2
    assert record.document == Path(changed).read_text()
    assert record.updated_by.startswith("arn:aws:")  # the caller's STS identity
    assert "settings version 2 written" in capsys.readouterr().out


def test_put_of_invalid_settings_exits_2_with_the_cause_and_writes_nothing(
    store: JobStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = run("put", "birds", "--file", write(tmp_path, example_settings(initial_model="none")))

    out = capsys.readouterr().out
    assert code == 2
    assert (
        "every triggered job of 'birds' would fail with InvalidJobInput: project settings of 'birds': " in out
    )
    assert "initial_model: set by the trigger" in out
    assert store.project_settings("birds") is None


def test_put_with_a_stale_expected_version_writes_nothing(
    store: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run("put", "birds", "--file", EXAMPLE)

    code = run("put", "birds", "--file", EXAMPLE, "--expect-version", "0")

    assert code == 3
    assert "stored settings are at version 1, not 0" in capsys.readouterr().out


def test_put_check_validates_without_aws(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("put", "birds", "--file", EXAMPLE, "--check") == 0
    assert "valid settings for project 'birds'" in capsys.readouterr().out


def test_show_and_list_print_the_stored_settings(store: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    run("put", "birds", "--file", EXAMPLE)
    capsys.readouterr()

    assert run("show", "birds", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert run("list") == 0
    listed = capsys.readouterr().out

    assert (shown["version"], shown["status"]) == (1, "valid")
    assert shown["settings"] == json.loads(EXAMPLE_SETTINGS_PATH.read_text())
    assert listed.splitlines()[1].startswith("birds  ")
    assert "max_workers_per_object=3" in listed


def test_show_of_a_project_without_settings_exits_3(
    store: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("show", "owls") == 3
    assert "project 'owls' has no settings" in capsys.readouterr().out


def test_an_input_file_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"project": "birds", "project": "owls"}')

    with pytest.raises(CliError, match=r"key 'project' appears twice in one JSON object"):
        read_input_file(path)
