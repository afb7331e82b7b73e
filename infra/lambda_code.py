"""The functions' code asset: the ``labelchain`` package with its bytecode compiled for the Lambda runtime.

Lambda's ``/var/task`` is read-only, so from a source-only asset every cold start compiles each LabelChain
module it imports — about 100 ms of a ~470 ms cold init on Python 3.13 (``bench/cold_init.py``). The asset
is therefore built here: ``lambdas/`` is copied without the developer's caches (``LAMBDA_ASSET_EXCLUDES``)
and compiled by an interpreter of the runtime's own version into ``build/lambda-code/<digest>``, where the
digest covers every copied file and that interpreter's version, so an unchanged tree is built once.

The bytecode is reproducible: ``PYTHONHASHSEED=0``, the build path stripped and ``/var/task`` (where Lambda
unpacks the asset, so tracebacks name it) put in its place, and ``unchecked-hash`` pycs, which Python uses
without comparing the source's mtime (the asset zip keeps no mtimes, so timestamp pycs would be ignored).
Without such an interpreter the asset is the source alone and synth warns; it never fails for lack of one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_13
"""The functions' runtime; the dependency layer, the Powertools layer and the bytecode follow it."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE_DIR = PROJECT_ROOT / "lambdas"
LAMBDA_CODE_BUILD_ROOT = PROJECT_ROOT / "build" / "lambda-code"
LAMBDA_TASK_ROOT = "/var/task"
"""Where Lambda unpacks the code asset: the path the compiled code objects name."""
LAMBDA_ASSET_EXCLUDES = [
    "**/tests",
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/*.egg-info",
    "**/.DS_Store",
    "**/._*",  # macOS AppleDouble files on non-HFS volumes: not Python, would not compile
]
"""What never goes from a source tree into an asset (all ``**/<name pattern>``)."""
LAMBDA_PYTHON_VARIABLE = "LABELCHAIN_LAMBDA_PYTHON"
"""Names the interpreter that compiles the asset's bytecode (else ``python3.<minor>`` is looked for)."""
NO_BYTECODE_WARNING_ID = "labelchain:no-lambda-bytecode"


def compile_command(python: Path | str, directory: Path | str) -> list[str]:
    """How the bytecode is made (run with ``PYTHONHASHSEED=0``): ``-s``/``-p`` put ``/var/task`` in place
    of the build path in every code object; ``unchecked-hash`` pycs are used without a source check."""
    return [
        *(str(python), "-m", "compileall", "-q", "-j0", "-s", str(directory), "-p", LAMBDA_TASK_ROOT),
        *("--invalidation-mode", "unchecked-hash", str(directory)),
    ]


BUILD_RECIPE = " ".join(compile_command("<python>", "<directory>")) + " PYTHONHASHSEED=0"
"""Part of every digest, derived from the command itself: a change of how the bytecode is made is a new
build."""
SEAL_SUFFIX = ".sealed"
"""``<digest>.sealed`` beside a build holds the digest of everything in it, bytecode included: a build
that no longer matches it (edited, pycs deleted) is built again rather than shipped."""
_PROBE = "import sys; print(sys.implementation.cache_tag); print(sys.version)"


class LambdaPythonMismatch(ValueError):
    """``LABELCHAIN_LAMBDA_PYTHON`` names an interpreter that is not the functions' runtime version."""


class LambdaBytecodeFailed(RuntimeError):
    """compileall could not compile a module of the asset (compileall's output says which and why)."""


@dataclass(frozen=True)
class LambdaCodeBuild:
    """A built code asset: its directory, whether it holds bytecode, and the compiler's version."""

    path: Path
    bytecode: bool
    python_version: str | None


def runtime_python_version() -> str:
    """``"3.13"``: the Python version of ``LAMBDA_RUNTIME`` (its name is ``python3.13``)."""
    return LAMBDA_RUNTIME.name.removeprefix("python")


def _cache_tag() -> str:
    """The bytecode tag the runtime's CPython uses, ``cpython-313``: what a compiler must report."""
    return "cpython-" + runtime_python_version().replace(".", "")


def _probe(python: Path, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """``(cache tag, full version)`` the interpreter reports, or None when it does not run."""
    try:
        result = subprocess.run(
            [str(python), "-c", _PROBE], capture_output=True, text=True, env=dict(environ), check=False
        )
    except OSError:
        return None
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) < 2:
        return None
    return lines[0], lines[1]


def find_lambda_python(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The interpreter that compiles the asset's bytecode: ``LABELCHAIN_LAMBDA_PYTHON`` (refused unless it
    is CPython of the runtime's version), else the first of ``python3.<minor>`` on PATH and pyenv's
    installs of that version that reports exactly it; None when there is none."""
    required = runtime_python_version()
    chosen = environ.get(LAMBDA_PYTHON_VARIABLE)
    if chosen:
        reported = _probe(Path(chosen), environ)
        if reported is None or reported[0] != _cache_tag():
            found = "did not run" if reported is None else f"reports Python {reported[1].split()[0]}"
            raise LambdaPythonMismatch(
                f"{LAMBDA_PYTHON_VARIABLE}={chosen} {found} ({reported[0] if reported else 'no version'}); "
                f"the functions run {LAMBDA_RUNTIME.name}, so it must name a CPython {required} interpreter"
            )
        return Path(chosen)
    for candidate in _candidates(environ, required):
        reported = _probe(candidate, environ)
        if reported is not None and reported[0] == _cache_tag():
            return candidate
    return None


def _candidates(environ: Mapping[str, str], required: str) -> list[Path]:
    """``python3.<minor>`` on PATH, then pyenv's installs of that version (its shim runs only the
    versions a project or the user selected, so an installed 3.13 is often not on PATH)."""
    candidates = []
    on_path = shutil.which(f"python{required}", path=environ.get("PATH"))
    if on_path is not None:
        candidates.append(Path(on_path))
    versions = Path(environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    release = re.compile(rf"{re.escape(required)}\.\d+")
    if versions.is_dir():
        installs = sorted(
            (d for d in versions.iterdir() if release.fullmatch(d.name)),
            key=lambda d: tuple(int(part) for part in d.name.split(".")),
            reverse=True,
        )
        candidates.extend(d / "bin" / f"python{required}" for d in installs)
    return candidates


def asset_files(source: Path) -> list[Path]:
    """The files of ``source`` that go into the asset (relative, sorted): none under an excluded name."""
    patterns = [pattern.removeprefix("**/") for pattern in LAMBDA_ASSET_EXCLUDES]
    ignored = shutil.ignore_patterns(*patterns)
    files: list[Path] = []
    for directory, subdirectories, names in os.walk(source):
        skipped = ignored(directory, [*subdirectories, *names])
        subdirectories[:] = sorted(name for name in subdirectories if name not in skipped)
        base = Path(directory).relative_to(source)
        files.extend(base / name for name in sorted(names) if name not in skipped)
    return sorted(files)


def _digest(root: Path, files: list[Path], header: str) -> str:
    """Covers ``header`` and every file's relative path and bytes."""
    digest = hashlib.sha256(f"{header}\0".encode())
    for relative in files:
        content = (root / relative).read_bytes()
        digest.update(f"{relative.as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _every_file(root: Path) -> list[Path]:
    return sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())


def _intact(build: Path) -> bool:
    """The build exists and holds exactly what it held when it was made."""
    seal = build.with_name(build.name + SEAL_SUFFIX)
    if not (build.is_dir() and seal.is_file()):
        return False
    return seal.read_text() == _digest(build, _every_file(build), "sealed")


def build_lambda_code(
    *, source: Path = LAMBDA_SOURCE_DIR, build_root: Path = LAMBDA_CODE_BUILD_ROOT, python: Path | None
) -> LambdaCodeBuild:
    """The asset directory for ``source``, with bytecode when ``python`` is given, built once per digest.

    The directory is named for the bytes it was built from, hashed from its own copy (a file saved while
    the copy is made cannot give a build another tree's name). It is built in a temporary sibling, sealed
    and renamed into place, so a reader never sees half a build and concurrent builders (pytest-xdist
    workers synthesizing at once) agree: the loser discards its copy. A build that no longer matches its
    seal is replaced.
    """
    probe = None if python is None else _probe(python, os.environ)
    if python is not None and probe is None:
        raise LambdaBytecodeFailed(f"{python} did not run, so it cannot compile the Lambda bytecode")
    header = f"{BUILD_RECIPE}\0{'source-only' if probe is None else probe[1]}"
    version = None if probe is None else probe[1].split()[0]
    files = asset_files(source)
    target = build_root / _digest(source, files, header)
    if _intact(target):
        return LambdaCodeBuild(path=target, bytecode=python is not None, python_version=version)
    build_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=build_root))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; Lambda's user must read the unpacked asset
        for relative in files:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, staging / relative)
        target = build_root / _digest(staging, files, header)
        if python is not None:
            _compile(python, staging)
        _install(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return LambdaCodeBuild(path=target, bytecode=python is not None, python_version=version)


def _install(staging: Path, target: Path) -> None:
    """Seal ``staging`` and move it to ``target``; a stale ``target`` is replaced, a fresh twin kept."""
    seal = _digest(staging, _every_file(staging), "sealed")
    if target.is_dir() and not _intact(target):
        shutil.rmtree(target, ignore_errors=True)
    sealing = target.with_name(f"{staging.name}{SEAL_SUFFIX}")
    sealing.write_text(seal)
    os.replace(sealing, target.with_name(target.name + SEAL_SUFFIX))  # same bytes from any builder
    try:
        staging.rename(target)
    except OSError:
        if not _intact(target):  # not a lost rename race: a real failure
            raise


def _compile(python: Path, directory: Path) -> None:
    """Compiles every module under ``directory`` as Lambda will find it under ``/var/task``."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = subprocess.run(
        compile_command(python, directory),
        capture_output=True,
        text=True,
        env={**environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    if result.returncode != 0:
        raise LambdaBytecodeFailed(
            f"{python} -m compileall could not compile the Lambda code (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}".rstrip()
        )


def lambda_code(
    scope: Construct,
    *,
    environ: Mapping[str, str] = os.environ,
    build_root: Path = LAMBDA_CODE_BUILD_ROOT,
) -> lambda_.Code:
    """The functions' code asset, with bytecode when an interpreter of the runtime's version is found;
    without one, the source alone and a warning on ``scope`` saying what that costs and how to fix it."""
    build = build_lambda_code(build_root=build_root, python=find_lambda_python(environ))
    if not build.bytecode:
        Annotations.of(scope).add_warning_v2(
            NO_BYTECODE_WARNING_ID,
            f"No CPython {runtime_python_version()} interpreter found, so the Lambda code asset ships "
            f"without bytecode: every cold start compiles the LabelChain modules it imports (~100 ms each "
            f"cold start on {LAMBDA_RUNTIME.name}, measured by bench/cold_init.py). Install "
            f"python{runtime_python_version()} on PATH or set {LAMBDA_PYTHON_VARIABLE} to one, then synth "
            "again.",
        )
    return lambda_.Code.from_asset(str(build.path))
