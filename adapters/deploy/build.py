"""Build the Lambda artifact that serverless.yml deploys: dist/lambda/triggerfish-<arch>.zip.

Usage: triggerfish build-lambda [--arch x86_64|arm64] [--jobs FOLDER] [--requirements FILE]
[--out dist/lambda] (in this repository, python deploy/build.py does the same).

The artifact holds triggerfish with its ``[lambda]`` extra and the app's own requirements
(a requirements file, or a pyproject.toml's ``[project] dependencies``), all installed by
pip in one resolve as manylinux wheels for CPython 3.12 on the chosen architecture
(pydantic-core and markupsafe are compiled: a wheel for this machine would not load on
Lambda). triggerfish comes from where it is installed: the project folder of an editable
or local install (its wheel is built from a clean copy), the wheel file it was installed
from, else the index, at the installed version. The user's jobs folder and
``lambda_entry.py`` go beside them; every module is compiled to bytecode by a CPython 3.12
found on this machine (Lambda's /var/task is read-only, so without it every cold start
compiles every module again), and everything is zipped with fixed timestamps, so an
unchanged build gives a byte-identical zip.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
PYTHON_VERSION = "3.12"
DEFAULT_OUT_DIR = Path("dist") / "lambda"
"""Relative to the folder the build runs in (the app's repository)."""
ENTRY_MODULE = Path(__file__).resolve().with_name("lambda_entry.py")
# Lambda's limit on the unzipped code of a function (zip or S3 upload alike).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
_SOURCE_ITEMS = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "core", "adapters")
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TASK_ROOT = "/var/task"
"""Where Lambda unzips the artifact: the source path compiled into each .pyc."""
PYTHON_ENV = "TRIGGERFISH_BUILD_PYTHON"
"""Names the CPython 3.12 that compiles the bytecode, when it is not found by itself."""
DISTRIBUTION = "triggerfish"


def _step(number: int, message: str) -> None:
    print(f"[{number}/6] {message}", flush=True)


def _pip(*args: str) -> None:
    """Run pip quietly; show its output only when it fails (setuptools is chatty)."""
    if importlib.util.find_spec("pip") is None:
        raise SystemExit(
            f"the Lambda build runs pip, which {sys.executable} lacks:"
            f" {sys.executable} -m ensurepip (a uv venv: uv pip install pip)"
        )
    command = [sys.executable, "-m", "pip", "--quiet", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"pip {args[0]} failed with exit code {result.returncode}")


def build_wheel(project: Path, wheel_dir: Path, scratch: Path) -> Path:
    """Build the project's wheel from a clean copy (a stale build/ could leak old modules)."""
    source = scratch / "source"
    source.mkdir()
    for name in _SOURCE_ITEMS:
        item = project / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=_JUNK)
        elif item.is_file():
            shutil.copy2(item, source / name)
    _pip("wheel", "--no-deps", "--wheel-dir", str(wheel_dir), str(source))
    (wheel,) = wheel_dir.glob("triggerfish-*.whl")
    return wheel


def installed_source() -> str | Path:
    """Where the installed triggerfish came from: its project folder (an editable or local
    install), the wheel file it was installed from, else a requirement on its version."""
    # A source checkout's own triggerfish.egg-info may come first on sys.path: the installed
    # distribution is the one that says where it came from.
    found = sorted(metadata.distributions(name=DISTRIBUTION),
                   key=lambda dist: dist.read_text("direct_url.json") is None)  # fmt: skip
    if not found:
        raise SystemExit(f"{DISTRIBUTION} is not installed in {sys.executable}")
    distribution = found[0]
    direct = json.loads(distribution.read_text("direct_url.json") or "{}")
    url = urlparse(direct.get("url", ""))
    if url.scheme == "file":
        path = Path(unquote(url.path))
        if "dir_info" in direct and (path / "pyproject.toml").is_file():
            return path
        if path.suffix == ".whl" and path.is_file():
            return path
    return f"{DISTRIBUTION}=={distribution.version}"


def read_requirements(paths: Sequence[Path]) -> list[str]:
    """pip arguments for the app's own requirements: ``-r FILE`` for a requirements file,
    the ``[project] dependencies`` of a pyproject.toml (or of a folder holding one)."""
    arguments: list[str] = []
    for path in paths:
        if path.is_dir():
            path = path / "pyproject.toml"
        if not path.is_file():
            raise SystemExit(f"--requirements {str(path)!r} is not a file")
        if path.name == "pyproject.toml":
            with path.open("rb") as file:
                project = tomllib.load(file).get("project", {})
            if "dependencies" in project.get("dynamic", []):
                raise SystemExit(
                    f"--requirements {str(path)!r}: its dependencies are dynamic;"
                    " pass the requirements file they come from"
                )
            arguments += [str(item) for item in project.get("dependencies", [])]
        else:
            arguments += ["-r", str(path)]
    return arguments


def install_for_lambda(
    triggerfish: str | Path, target: Path, arch: str, requirements: Sequence[str] = ()
) -> None:
    """Install triggerfish[lambda] and the app's requirements, in one resolve, as binary
    wheels for Lambda's platform (a requirement with no such wheel fails here, not there)."""
    if isinstance(triggerfish, Path):
        triggerfish = f"{DISTRIBUTION}[lambda] @ {triggerfish.as_uri()}"
    else:
        triggerfish = triggerfish.replace(DISTRIBUTION, f"{DISTRIBUTION}[lambda]", 1)
    _pip(
        "install",
        "--platform", PLATFORMS[arch],
        "--only-binary=:all:",
        "--python-version", PYTHON_VERSION,
        "--implementation", "cp",
        "--target", str(target),
        "--no-compile",
        triggerfish,
        *requirements,
    )  # fmt: skip


def add_app_code(target: Path, jobs: list[Path]) -> None:
    """Copy the entry module and the user's jobs folders to the root of the artifact."""
    shutil.copy2(ENTRY_MODULE, target / "lambda_entry.py")
    for folder in jobs:
        if folder.is_file() and folder.suffix == ".py":
            shutil.copy2(folder, target / folder.name)  # a single jobs module
        elif folder.is_dir():
            shutil.copytree(folder, target / folder.name, ignore=_JUNK, dirs_exist_ok=True)
        else:
            raise SystemExit(f"--jobs {str(folder)!r} is neither a package folder nor a .py module")


def prune(target: Path) -> None:
    """Drop what Lambda never uses and what differs between identical builds.

    Console scripts and this machine's bytecode are useless there; pip's direct_url.json
    names the temporary wheel's path, so it (and its line in RECORD) would change the zip
    on every build.
    """
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    for direct_url in target.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()
        record = direct_url.with_name("RECORD")
        lines = record.read_text().splitlines(keepends=True)
        kept = [
            line
            for line in lines
            if not line.startswith(f"{direct_url.parent.name}/direct_url.json,")
        ]
        record.write_text("".join(kept))


def find_target_python() -> Path | None:
    """A CPython of Lambda's version (PYTHON_VERSION): $TRIGGERFISH_BUILD_PYTHON, then
    python3.12 on PATH, then pyenv's; None when none of them runs and says it is 3.12."""
    candidates = [os.environ.get(PYTHON_ENV), shutil.which(f"python{PYTHON_VERSION}")]
    name = f"python{PYTHON_VERSION}"
    candidates += [
        str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}*/bin/{name}"))
    ]
    candidates += [str(p) for p in sorted(Path("/opt").glob(f"*/bin/{name}"))]
    probe = "import sys; print('%d.%d' % sys.version_info[:2], sys.implementation.name)"
    for candidate in filter(None, candidates):
        try:  # a pyenv shim may exist yet refuse to run
            result = subprocess.run(
                [candidate, "-c", probe], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            continue
        if result.returncode == 0 and result.stdout.split() == [PYTHON_VERSION, "cpython"]:
            return Path(candidate)
    return None


def compile_bytecode(target: Path, python: Path) -> None:
    """Compile every module for Lambda's CPython, deterministically.

    unchecked-hash .pyc files hold no timestamp and are loaded without looking at the
    source; the source paths inside them are rewritten to /var/task, not this build's
    temporary folder, so the zip stays byte-identical between builds.
    """
    command = [
        str(python), "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash",
        "-s", str(target), "-p", TASK_ROOT, str(target),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # a module that does not compile is the user's error
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"compiling the artifact's modules with {python} failed")


def write_zip(target: Path, artifact: Path) -> int:
    """Zip the folder deterministically; return the unzipped size in bytes."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    partial = artifact.with_suffix(".zip.partial")
    unzipped = 0
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(target).as_posix(), date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable by Lambda's sandbox user
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    partial.replace(artifact)
    return unzipped


def build(
    arch: str,
    jobs: list[Path],
    out_dir: Path,
    project: Path | None = None,
    *,
    requirements: Sequence[Path] = (),
    bytecode: bool = True,
) -> Path:
    """Build the artifact for ``arch`` and return its path.

    ``project`` is triggerfish's own source folder (this repository); by default the
    installed triggerfish is used (`installed_source`).
    """
    started = time.monotonic()
    artifact = out_dir / f"triggerfish-{arch}.zip"
    extra = read_requirements(requirements)
    source = installed_source() if project is None else project
    with tempfile.TemporaryDirectory(prefix="triggerfish-build-") as tmp:
        scratch = Path(tmp)
        target = scratch / "package"
        if isinstance(source, Path) and source.is_dir():
            _step(1, f"building the triggerfish wheel from {source}")
            source = build_wheel(source, scratch / "wheels", scratch)
        else:
            _step(1, f"triggerfish from {source}")
        named = source.name if isinstance(source, Path) else source
        _step(2, f"installing {named} [lambda]"
                 f"{' and the app requirements' if extra else ''} for {PLATFORMS[arch]},"
                 f" CPython {PYTHON_VERSION}")  # fmt: skip
        install_for_lambda(source, target, arch, extra)
        _step(3, f"adding lambda_entry.py and jobs: {', '.join(f.name for f in jobs) or 'none'}")
        add_app_code(target, jobs)
        _step(4, "pruning console scripts, __pycache__ and direct_url.json")
        prune(target)
        python = None if not bytecode else find_target_python()
        if python is not None:
            _step(5, f"compiling bytecode for CPython {PYTHON_VERSION} with {python}")
            compile_bytecode(target, python)
        elif bytecode:
            _step(5, f"NO BYTECODE: no CPython {PYTHON_VERSION} found (set {PYTHON_ENV}"
                     f" or install python{PYTHON_VERSION}); every cold start will compile"
                     " every module (about 0.5 s of CPU)")  # fmt: skip
        else:
            _step(5, "no bytecode (--no-bytecode)")
        _step(6, f"zipping to {artifact}")
        unzipped = write_zip(target, artifact)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise SystemExit(
            f"unzipped size {unzipped / 2**20:.1f} MB exceeds Lambda's"
            f" {MAX_UNZIPPED_BYTES / 2**20:.0f} MB limit"
        )
    print(
        f"built {artifact}: {artifact.stat().st_size / 2**20:.1f} MB zipped,"
        f" {unzipped / 2**20:.1f} MB unzipped, in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return artifact


def add_arguments(parser: argparse.ArgumentParser, *, default_jobs: str | None) -> None:
    """The build's options, shared by `triggerfish build-lambda` and deploy/build.py."""
    parser.add_argument(
        "--arch", choices=sorted(PLATFORMS), default="x86_64",
        help="Lambda architecture; must match serverless.yml's architecture param",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", action="append", type=Path, metavar="FOLDER",
        help="the app's package folder or .py module, copied to the zip's root"
        + (f" (default: {default_jobs})" if default_jobs else " (repeatable)"),
    )  # fmt: skip
    parser.add_argument(
        "--requirements", "-r", action="append", type=Path, default=[], metavar="FILE",
        help="the app's own requirements: a requirements file, or a pyproject.toml whose"
        " [project] dependencies are installed (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="output folder")
    parser.add_argument(
        "--no-bytecode", action="store_true",
        help=f"ship sources only (by default a CPython {PYTHON_VERSION} compiles them)",
    )  # fmt: skip


def build_from_arguments(args: argparse.Namespace, project: Path | None = None) -> Path:
    """Run the build for parsed `add_arguments` options."""
    jobs = [folder.resolve() for folder in args.jobs or []]
    return build(
        args.arch, jobs, args.out.resolve(), project,
        requirements=[path.resolve() for path in args.requirements],
        bytecode=not args.no_bytecode,
    )  # fmt: skip
