"""The functions' code asset: the labelchain package with reproducible Python 3.13 bytecode for /var/task.

Most cases build a small package into ``tmp_path``; one reads the session's synthesized cloud assembly.
A case that needs a CPython 3.13 interpreter skips without one, saying so (synth then ships the source and
warns, which a case here checks with no interpreter at all).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match
from constructs import Construct

from infra.application import PROJECT_ROOT
from infra.lambda_code import (
    LAMBDA_PYTHON_VARIABLE,
    NO_BYTECODE_WARNING_ID,
    LambdaBytecodeFailed,
    LambdaPythonMismatch,
    build_lambda_code,
    find_lambda_python,
    lambda_code,
    runtime_python_version,
)
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

CACHE_TAG = "cpython-" + runtime_python_version().replace(".", "")
CO_FILENAMES = (
    "import marshal, sys\nfor p in sys.argv[1:]: print(marshal.loads(open(p, 'rb').read()[16:]).co_filename)"
)
UNCHECKED_HASH = 0b01
"""PEP 552 flags word: bit 0 set = hash-based pyc, bit 1 clear = not checked against the source."""


@pytest.fixture
def lambda_python() -> Path:
    python = find_lambda_python()
    if python is None:  # then synth ships the source and warns (tested below): a supported set-up
        pytest.skip(
            f"no CPython {runtime_python_version()} interpreter here, so the bytecode build cannot be "
            f"tested: install python{runtime_python_version()} on PATH or set {LAMBDA_PYTHON_VARIABLE}"
        )
    return python


def _builds(build_root: Path) -> list[str]:
    """The finished builds under ``build_root`` (each beside its seal; no half-built leftovers)."""
    builds = sorted(p.name for p in build_root.iterdir() if p.is_dir())
    assert sorted(p.name for p in build_root.iterdir() if not p.is_dir()) == [f"{b}.sealed" for b in builds]
    return builds


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A package like ``lambdas/``, with the caches and by-products a developer's tree collects."""
    root = tmp_path / "lambdas"
    files = {
        "labelchain/__init__.py": '"""LabelChain."""\n',
        "labelchain/core/__init__.py": "",
        "labelchain/core/rules.py": 'def known(kind):\n    return kind in {"bbox", "label", "polygon"}\n',
        "labelchain/__pycache__/rules.cpython-311.pyc": "stale",
        "labelchain/tests/test_rules.py": "def test(): ...\n",
        "labelchain.egg-info/PKG-INFO": "Name: labelchain\n",
        ".pytest_cache/v/cache/lastfailed": "{}",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_every_module_ships_an_unchecked_hash_pyc_that_names_its_lambda_path(
    tmp_path: Path, source: Path, lambda_python: Path
) -> None:
    build = build_lambda_code(source=source, build_root=tmp_path / "build", python=lambda_python)
    modules = sorted(build.path.rglob("*.py"))
    pycs = [module.parent / "__pycache__" / f"{module.stem}.{CACHE_TAG}.pyc" for module in modules]

    assert build.bytecode
    assert build.python_version is not None
    assert build.python_version.startswith(f"{runtime_python_version()}.")
    assert [int.from_bytes(pyc.read_bytes()[4:8], "little") for pyc in pycs] == [UNCHECKED_HASH] * 3
    run = [str(lambda_python), "-c", CO_FILENAMES, *map(str, pycs)]
    names = subprocess.run(run, capture_output=True, text=True, check=True).stdout.split()
    assert names == [f"/var/task/{m.relative_to(build.path).as_posix()}" for m in modules]


def test_a_tree_builds_to_the_same_directory_and_bytes_and_one_changed_byte_to_another(
    tmp_path: Path, source: Path, lambda_python: Path
) -> None:
    first = build_lambda_code(source=source, build_root=tmp_path / "first", python=lambda_python)
    second = build_lambda_code(source=source, build_root=tmp_path / "second", python=lambda_python)
    rules = source / "labelchain/core/rules.py"
    rules.write_text(rules.read_text().replace("bbox", "bboX"))  # one byte
    changed = build_lambda_code(source=source, build_root=tmp_path / "first", python=lambda_python)

    assert first.path.name == second.path.name
    assert _files(first.path) == _files(second.path)
    assert changed.path.name != first.path.name
    assert _builds(tmp_path / "first") == sorted([first.path.name, changed.path.name])


def test_a_build_edited_or_stripped_of_its_bytecode_after_it_was_made_is_built_again(
    tmp_path: Path, source: Path, lambda_python: Path
) -> None:
    # Given a build whose source was edited by hand (unchecked-hash pycs would hide that edit in Lambda)
    build_root = tmp_path / "build"
    first = build_lambda_code(source=source, build_root=build_root, python=lambda_python)
    original = _files(first.path)
    (first.path / "labelchain/core/rules.py").write_text("EDITED = True\n")

    # When the same tree is built again, Then the build is made afresh, byte for byte as before
    assert build_lambda_code(source=source, build_root=build_root, python=lambda_python).path == first.path
    assert _files(first.path) == original

    # And the same when its bytecode was deleted (pyclean, find -delete)
    for pyc in first.path.rglob("*.pyc"):
        pyc.unlink()
    assert build_lambda_code(source=source, build_root=build_root, python=lambda_python).path == first.path
    assert _files(first.path) == original
    assert _builds(build_root) == [first.path.name]


def test_caches_tests_and_install_by_products_never_reach_the_asset(tmp_path: Path, source: Path) -> None:
    build = build_lambda_code(source=source, build_root=tmp_path / "build", python=None)

    assert not build.bytecode
    assert sorted(_files(build.path)) == [
        "labelchain/__init__.py",
        "labelchain/core/__init__.py",
        "labelchain/core/rules.py",
    ]


def test_builders_racing_for_one_tree_agree_on_one_directory_and_leave_nothing_else(
    tmp_path: Path, source: Path
) -> None:
    build_root = tmp_path / "build"
    with ThreadPoolExecutor(max_workers=8) as pool:
        builds = list(
            pool.map(lambda _: build_lambda_code(source=source, build_root=build_root, python=None), range(8))
        )

    assert {build.path for build in builds} == {builds[0].path}
    assert _builds(build_root) == [builds[0].path.name]


def test_a_module_that_does_not_compile_fails_the_build_naming_it(
    tmp_path: Path, source: Path, lambda_python: Path
) -> None:
    (source / "labelchain/core/broken.py").write_text("def (\n")

    with pytest.raises(LambdaBytecodeFailed, match=r"labelchain/core/broken\.py[\s\S]*SyntaxError"):
        build_lambda_code(source=source, build_root=tmp_path / "build", python=lambda_python)
    assert list((tmp_path / "build").iterdir()) == []  # no half-built asset is left to be reused


def test_the_interpreter_the_variable_names_is_the_one_used(lambda_python: Path) -> None:
    assert find_lambda_python({LAMBDA_PYTHON_VARIABLE: str(lambda_python), "PATH": ""}) == lambda_python


def test_an_interpreter_of_another_python_version_is_refused_by_name() -> None:
    environ = {LAMBDA_PYTHON_VARIABLE: sys.executable, "PATH": ""}
    reported = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"

    with pytest.raises(LambdaPythonMismatch) as refused:
        find_lambda_python(environ)
    assert str(refused.value).startswith(
        f"{LAMBDA_PYTHON_VARIABLE}={sys.executable} reports Python {reported}"
    )
    assert f"must name a CPython {runtime_python_version()} interpreter" in str(refused.value)


def test_a_python_on_path_that_reports_another_version_is_not_used(tmp_path: Path) -> None:
    impostor = tmp_path / "bin" / f"python{runtime_python_version()}"
    impostor.parent.mkdir()
    impostor.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    impostor.chmod(0o755)

    assert find_lambda_python({"PATH": str(impostor.parent), "PYENV_ROOT": str(tmp_path)}) is None


def test_without_an_interpreter_synth_ships_the_source_and_warns_what_it_costs(
    tmp_path: Path, source: Path
) -> None:
    stack = Stack(App(outdir=str(tmp_path / "cdk.out")), "Test")
    functions = Construct(stack, "Functions")

    lambda_code(functions, environ={"PATH": "", "PYENV_ROOT": str(tmp_path)}, build_root=tmp_path / "build")

    (built,) = _builds(tmp_path / "build")
    assert not list((tmp_path / "build" / built).rglob("*.pyc"))
    Annotations.from_stack(stack).has_warning(
        "/Test/Functions",
        Match.string_like_regexp(
            rf"without bytecode: every cold start compiles .* set {LAMBDA_PYTHON_VARIABLE} .*"
            rf"\[ack: {NO_BYTECODE_WARNING_ID}\]"
        ),
    )


@pytest.mark.usefixtures("lambda_python")
def test_the_synthesized_functions_ship_bytecode_for_every_module(assembly: CloudAssembly) -> None:
    (_, create_job) = assembly.function("labelchain-create-job")
    asset_dir = assembly.directory / f"asset.{create_job['Code']['S3Key'].removesuffix('.zip')}"
    modules = sorted(asset_dir.rglob("*.py"))
    pycs = sorted(asset_dir.rglob("*.pyc"))

    assert modules
    assert pycs == sorted(m.parent / "__pycache__" / f"{m.stem}.{CACHE_TAG}.pyc" for m in modules)


def test_the_dependency_layer_is_installed_for_the_functions_python_version() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()

    assert f"--python-version {runtime_python_version()} " in makefile
