"""Cold starts, measured: `python -m platescan bench --startup`.

Each function's `functions/<name>/app.py` is imported in a fresh Python process with the
environment Lambda would give it (function name, region, Powertools settings, active
tracing), so the number is what a cold container pays before its first event. For
`detect_text` with the ONNX engine the first event also imports the engine, loads the
models and runs a first inference; those are timed too, and so is a second (warm) one.

Two import times per function:

- `import_s`: with Python's bytecode cache, as a developer's machine (or a package built
  with compiled `.pyc` files) has it;
- `import_no_pyc_s`: with no bytecode cache at all, as the zips and the layer are built
  today (`pip --no-compile`, `__pycache__` left out) and Lambda's read-only code directory
  cannot cache it either: every cold start compiles every module it imports.

Each function's heaviest imports (self time summed by top-level package, from Python's
`-X importtime`) say where the time goes. Package sizes are what each artefact would hold,
summed from the installed distributions that `infra/requirements-*.txt` name (with their
dependencies) and from the files `infra/packaging.py` puts into a function zip.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_REQUIREMENTS = REPO_ROOT / "infra" / "requirements-lambda.txt"
ONNX_REQUIREMENTS = REPO_ROOT / "infra" / "requirements-onnx.txt"
# The import budget of the functions that do not run OCR, on the development machine.
IMPORT_TARGET_S = 0.3
MB = 1_000_000

# Runs inside the fresh process: argv is (function, engine). Prints one JSON object.
_CHILD = r"""
import importlib, json, sys, time
function, engine = sys.argv[1], sys.argv[2]
started = time.perf_counter()
importlib.import_module(f"functions.{function}.app")
out = {"import_s": time.perf_counter() - started, "modules": len(sys.modules)}
if engine == "onnx":
    import io
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    t = time.perf_counter()
    from platescan.engines import onnx
    out["engine_import_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pool = onnx.get_pool()
    pool.warm_up()
    out["model_load_s"] = time.perf_counter() - t
    out["ocr_workers"] = pool.workers
    photo = Image.new("RGB", (1280, 720), (70, 80, 90))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((520, 420, 760, 500), fill="white", outline="black", width=4)
    draw.text((545, 432), "7ABC123", fill="black", font=ImageFont.load_default(size=48))
    rgb = np.asarray(photo)
    for key in ("first_inference_s", "warm_inference_s"):
        t = time.perf_counter()
        onnx.detect_image(rgb)
        out[key] = time.perf_counter() - t
# The peak resident set of this process's own memory (VmHWM, in kB): what the function's
# memory setting must hold. getrusage's maxrss would not do: Linux carries it over exec, so
# a child of a large process (the test runner) would report its parent's size.
with open("/proc/self/status") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
out["peak_rss_mb"] = int(hwm.split()[1]) * 1024 / 1e6
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Target:
    """One thing to start cold: a function folder, and the engine it runs with."""

    function: str
    engine: str = ""  # detect_text only: rekognition or onnx

    @property
    def label(self) -> str:
        return f"{self.function}[{self.engine}]" if self.engine else self.function

    @property
    def runs_ocr(self) -> bool:
        return self.engine == "onnx"


def targets() -> list[Target]:
    """Every function folder; detect_text once per engine."""
    found: list[Target] = []
    for folder in sorted(p for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file()):
        if folder.name == "detect_text":
            found += [Target(folder.name, "rekognition"), Target(folder.name, "onnx")]
        else:
            found.append(Target(folder.name))
    return found


def lambda_environment(target: Target, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a deployed function sees (docs/contracts.md), with dummy credentials.

    `AWS_LAMBDA_FUNCTION_NAME` makes Powertools believe it runs in Lambda, so its Tracer is
    on and patches the SDKs at import as it does with the stack's active tracing;
    `LAMBDA_TASK_ROOT` makes the X-Ray SDK take its Lambda path (a local sampler), as it
    does in AWS, rather than build X-Ray clients for a daemon (about 0.3 s more here).
    """
    env = {k: v for k, v in (base if base is not None else os.environ).items()}
    for name in list(env):
        if name.startswith(("AWS_", "POWERTOOLS_", "PYTHON", "LAMBDA_")) or name == "OCR_WORKERS":
            del env[name]
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": f"platescan-{target.function.replace('_', '-')}",
            "LAMBDA_TASK_ROOT": str(REPO_ROOT),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008" if target.runs_ocr else "256",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "RESULTS_TABLE": "platescan-results",
            "UPLOADS_BUCKET": "platescan-uploads",
            "DETECTOR_ENGINE": target.engine or "rekognition",
            "SITE_ORIGIN": "https://example.cloudfront.net",
            "POWERTOOLS_SERVICE_NAME": "platescan",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_METRICS_NAMESPACE": "Platescan/bench",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


def child_command(target: Target, layer: Path | None) -> tuple[list[str], str]:
    """The interpreter to start and its PYTHONPATH.

    With `layer` (a folder holding what the dependency layer installs, see `run`), a zip
    function starts on the base interpreter without site-packages (`-S`), so it sees only
    the standard library, the layer and the repository, as in Lambda: the X-Ray SDK patches
    every library it finds at import, and a virtualenv holds many the layer does not.
    """
    if layer is not None and not target.runs_ocr:
        base = getattr(sys, "_base_executable", sys.executable)
        return [base, "-S"], f"{REPO_ROOT}{os.pathsep}{layer}"
    return [sys.executable], str(REPO_ROOT)


def _run_child(
    target: Target, *, bytecode: bool, importtime: bool = False, layer: Path | None = None
) -> dict[str, Any]:
    env = lambda_environment(target)
    interpreter, env["PYTHONPATH"] = child_command(target, layer)
    with tempfile.TemporaryDirectory(prefix="platescan-nopyc-") as empty:
        if not bytecode:
            # An empty cache tree that nothing may write to: every import compiles its source.
            env["PYTHONPYCACHEPREFIX"] = empty
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        flags = ["-X", "importtime"] if importtime else []
        command = [*interpreter, *flags, "-c", _CHILD, target.function, target.engine]
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{target.label} failed to start:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if importtime:
        result["heaviest"] = heaviest_imports(done.stderr)
    return result


def heaviest_imports(importtime_log: str, top: int = 4) -> dict[str, float]:
    """Self import time (seconds) summed by top-level package, the `top` largest.

    `-X importtime` prints `import time: self [us] | cumulative | name` per module;
    summing self times by the first dotted part attributes every microsecond once.
    """
    totals: Counter[str] = Counter()
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3:
            continue
        package = fields[2].strip().split(".")[0]
        totals[package] += int(fields[0])
    return {name: round(us / 1e6, 3) for name, us in totals.most_common(top)}


def measure_target(target: Target, repeat: int, layer: Path | None = None) -> dict[str, Any]:
    """Import (and for ONNX, load and infer) in fresh processes; medians of `repeat` runs."""
    runs = [_run_child(target, bytecode=True, layer=layer) for _ in range(repeat)]
    result: dict[str, Any] = {
        "import_s": _median(runs, "import_s"),
        "import_s_min": round(min(r["import_s"] for r in runs), 3),
        "import_s_runs": [round(r["import_s"], 3) for r in runs],
        "modules": runs[-1]["modules"],
        "peak_rss_mb": round(max(float(r["peak_rss_mb"]) for r in runs), 1),
    }
    for key in ("engine_import_s", "model_load_s", "first_inference_s", "warm_inference_s"):
        if key in runs[0]:
            result[key] = _median(runs, key)
    if "ocr_workers" in runs[0]:
        result["ocr_workers"] = runs[0]["ocr_workers"]
    # Compiling from source is slow and steady: one run says enough.
    no_pyc = _run_child(target, bytecode=False, layer=layer)
    result["import_no_pyc_s"] = round(no_pyc["import_s"], 3)
    result["heaviest"] = _run_child(target, bytecode=True, importtime=True, layer=layer)["heaviest"]
    result["site"] = "layer" if layer is not None and not target.runs_ocr else "venv"
    result["cold_start_s"] = round(
        sum(result.get(k, 0.0) for k in ("import_s", "engine_import_s", "model_load_s"))
        + result.get("first_inference_s", 0.0),
        3,
    )
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(float(r[key]) for r in runs), 3)


# -- package sizes -------------------------------------------------------------------------


def requirement_names(path: Path) -> list[str]:
    """Distribution names a requirements file lists (following `-r`), versions ignored."""
    names: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            names += requirement_names(path.parent / line.split(maxsplit=1)[1])
            continue
        if line.startswith("-"):
            continue
        names.append(_canonical(line.split(";")[0].split("[")[0].split("=")[0].split("<")[0]))
    return names


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def resolve_distributions(names: list[str]) -> list[str]:
    """The named distributions and everything they require here, as installed (no extras)."""
    from packaging.requirements import Requirement

    seen: dict[str, None] = {}
    queue = list(names)
    while queue:
        name = _canonical(queue.pop(0))
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here: it cannot be measured, and the report says so
        seen[name] = None
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                queue.append(requirement.name)
    return sorted(seen)


def distribution_bytes(name: str) -> int:
    """Bytes a distribution installs, bytecode left out (the layer is built without it)."""
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        if file.suffix == ".pyc" or "__pycache__" in file.parts:
            continue
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def requirements_size(path: Path) -> dict[str, Any]:
    """Unzipped size of what a requirements file installs, largest distributions first."""
    wanted = requirement_names(path)
    names = resolve_distributions(wanted)
    sizes = {name: distribution_bytes(name) for name in names}
    missing = sorted(set(wanted) - set(names))
    return {
        "unzipped_mb": round(sum(sizes.values()) / MB, 1),
        "distributions_mb": {
            name: round(size / MB, 1)
            for name, size in sorted(sizes.items(), key=lambda item: -item[1])
        },
        "not_installed": missing,
    }


def function_zip_size(function: str) -> dict[str, float]:
    """The function's own zip as `infra/packaging.py` builds it: handler plus `platescan/`."""
    from infra import packaging  # the tools run from the repository root, as infra does

    with tempfile.TemporaryDirectory(prefix="platescan-zip-") as tmp:
        package = packaging.build_function(function, Path(tmp))
        zipped = package.path.stat().st_size
    unzipped = sum(p.stat().st_size for p in packaging.function_entries(function).values())
    return {"zip_mb": round(zipped / MB, 2), "unzipped_mb": round(unzipped / MB, 2)}


def package_sizes() -> dict[str, Any]:
    layer = requirements_size(LAYER_REQUIREMENTS)
    image = requirements_size(ONNX_REQUIREMENTS)
    return {
        "layer": layer,
        "onnx_image": image,
        "function_zips": {
            t.function: function_zip_size(t.function) for t in targets() if not t.engine
        }
        | {"detect_text": function_zip_size("detect_text")},
        "lambda_zip_limit_mb": 250,
    }


# -- the report ---------------------------------------------------------------------------


def measure(repeat: int = 3, layer: Path | None = None) -> dict[str, Any]:
    """Every function's cold start and the package sizes; the dict `run` prints as JSON."""
    load_start = os.getloadavg()[0]
    functions = {t.label: measure_target(t, repeat, layer) for t in targets()}
    sizes = package_sizes()
    for target in targets():
        entry = functions[target.label]
        own = sizes["function_zips"][target.function]["unzipped_mb"]
        base = sizes["onnx_image"] if target.runs_ocr else sizes["layer"]
        entry["package"] = "image" if target.runs_ocr else "zip+layer"
        entry["package_unzipped_mb"] = round(own + base["unzipped_mb"], 1)
    non_ocr = [t.label for t in targets() if not t.runs_ocr]
    return {
        "functions": functions,
        "packages": sizes,
        "import_target_s": IMPORT_TARGET_S,
        "non_ocr_within_target": {
            label: functions[label]["import_s"] <= IMPORT_TARGET_S for label in non_ocr
        },
        "layer": str(layer) if layer is not None else None,
        "cpus": os.cpu_count(),
        "load_1m": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "python": sys.version.split()[0],
    }


def format_table(report: dict[str, Any]) -> str:
    header = (
        "FUNCTION", "IMPORT ms", "NO-PYC ms", "MODEL ms", "1ST INFER ms", "COLD ms",
        "PEAK RSS MB", "PACKAGE MB", "HEAVIEST IMPORTS (self ms)",
    )  # fmt: skip
    rows = [header]
    for label, entry in report["functions"].items():
        model = entry.get("engine_import_s", 0.0) + entry.get("model_load_s", 0.0)
        heaviest = ", ".join(f"{k} {v * 1000:.0f}" for k, v in entry["heaviest"].items())
        rows.append(
            (
                label,
                f"{entry['import_s'] * 1000:.0f}",
                f"{entry['import_no_pyc_s'] * 1000:.0f}",
                f"{model * 1000:.0f}" if "model_load_s" in entry else "-",
                f"{entry['first_inference_s'] * 1000:.0f}" if "first_inference_s" in entry else "-",
                f"{entry['cold_start_s'] * 1000:.0f}",
                f"{entry['peak_rss_mb']:.0f}",
                f"{entry['package_unzipped_mb']:.1f} {entry['package']}",
                heaviest,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:-1])) + "  " + row[-1]
             for row in rows]  # fmt: skip
    packages = report["packages"]
    for name in ("layer", "onnx_image"):
        part = packages[name]
        largest = ", ".join(f"{k} {v}" for k, v in list(part["distributions_mb"].items())[:5])
        lines.append(f"{name}: {part['unzipped_mb']} MB unzipped ({largest}, ...)")
    return "\n".join(lines)


def run(repeat: int = 3, layer: Path | None = None) -> int:
    """Measure, print the table, then the JSON line; 0 even when a target is missed.

    `layer`: a folder made with `pip install --target DIR -r infra/requirements-lambda.txt
    -c requirements.txt`, to import the zip functions against exactly what Lambda gives them.
    """
    if layer is not None and not layer.is_dir():
        print(
            f"error: {layer} is not a folder (make it with pip install --target)", file=sys.stderr
        )
        return 2
    report = measure(repeat, layer)
    print(format_table(report))
    print(json.dumps(report))
    return 0
