"""Build the Lambda artifact that serverless.yml deploys: dist/lambda/triggerfish-<arch>.zip.

Usage: python deploy/build.py [--arch x86_64|arm64] [--jobs examples] [--out dist/lambda]

The project is a local folder, not a wheel for Lambda's platform, so the build first makes
the project's own wheel, then lets pip install it with its ``[lambda]`` dependencies as
manylinux wheels for CPython 3.12 on the chosen architecture (pydantic-core and
markupsafe are compiled: a wheel for this machine would not load on Lambda). The user's
jobs folder and deploy/lambda_entry.py go beside them; every module is compiled to bytecode
by a CPython 3.12 found on this machine (Lambda's /var/task is read-only, so without it every
cold start compiles every module again), and everything is zipped with fixed timestamps, so
an unchanged build gives a byte-identical zip.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
PYTHON_VERSION = "3.12"
DEFAULT_OUT_DIR = ROOT / "dist" / "lambda"
ENTRY_MODULE = ROOT / "deploy" / "lambda_entry.py"
# Lambda's limit on the unzipped code of a function (zip or S3 upload alike).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
_SOURCE_ITEMS = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "core", "adapters")
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TASK_ROOT = "/var/task"
"""Where Lambda unzips the artifact: the source path compiled into each .pyc."""
PYTHON_ENV = "TRIGGERFISH_BUILD_PYTHON"
"""Names the CPython 3.12 that compiles the bytecode, when it is not found by itself."""


def _step(number: int, message: str) -> None:
    print(f"[{number}/6] {message}", flush=True)


def _pip(*args: str) -> None:
    """Run pip quietly; show its output only when it fails (setuptools is chatty)."""
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


def install_for_lambda(wheel: Path, target: Path, arch: str) -> None:
    """Install the wheel and its [lambda] extra as binary wheels for Lambda's platform."""
    _pip(
        "install",
        "--platform", PLATFORMS[arch],
        "--only-binary=:all:",
        "--python-version", PYTHON_VERSION,
        "--implementation", "cp",
        "--target", str(target),
        "--no-compile",
        f"triggerfish[lambda] @ {wheel.as_uri()}",
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
            raise SystemExit(
                f"--jobs {str(folder)!r} is neither a package folder nor a .py module"
            )


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
    candidates += [str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}*/bin/{name}"))]
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
    arch: str, jobs: list[Path], out_dir: Path, project: Path = ROOT, *, bytecode: bool = True
) -> Path:
    """Build the artifact for ``arch`` and return its path."""
    started = time.monotonic()
    artifact = out_dir / f"triggerfish-{arch}.zip"
    with tempfile.TemporaryDirectory(prefix="triggerfish-build-") as tmp:
        scratch = Path(tmp)
        target = scratch / "package"
        _step(1, f"building the triggerfish wheel from {project}")
        wheel = build_wheel(project, scratch / "wheels", scratch)
        _step(
            2, f"installing {wheel.name} [lambda] for {PLATFORMS[arch]}, CPython {PYTHON_VERSION}"
        )
        install_for_lambda(wheel, target, arch)
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


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--arch", choices=sorted(PLATFORMS), default="x86_64",
        help="Lambda architecture; must match serverless.yml's architecture param",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", action="append", type=Path, metavar="FOLDER",
        help="folder holding the jobs module, copied to the zip's root (default: examples)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="output folder")
    parser.add_argument(
        "--no-bytecode", action="store_true",
        help=f"ship sources only (by default a CPython {PYTHON_VERSION} compiles them)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    jobs = [folder.resolve() for folder in args.jobs or [ROOT / "examples"]]
    build(args.arch, jobs, args.out.resolve(), bytecode=not args.no_bytecode)


if __name__ == "__main__":
    main()
