#!/usr/bin/env python3
"""Build the evaluation corpus: models made by real exporters, which the cost model is judged on (issue 11).

    nice -n 10 .venv/bin/python scripts/make_eval_corpus.py [--quick | --only NAME...] [--list] [--force]

torchvision / timm through torch.onnx.export (TorchScript and dynamo), Keras Applications through the TFLite
converter (fp32, full int8, fp16, dynamic-range) and tf2onnx, the onnx package's Model Zoo test data, and int8 /
fp16 ONNX made with onnxruntime's quantizer and onnxconverter-common. The exporters live in their own virtualenvs
(`$EDGEBENCH_CACHE_DIR/eval-env-{torch,tf}`, default `~/.cache/edgebench/`), installed on first use from the pinned
files in scripts/eval_corpus/. The models and `manifest.json` go to `$EDGEBENCH_CACHE_DIR/eval-corpus/`.

Every file is loaded and run once (onnxruntime CPU EP / LiteRT) by this interpreter, which must be the project's
venv. A second run re-uses every model whose recipe is unchanged. None of these models may be used to fit or
tune the cost model.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_corpus import envs  # noqa: E402
from eval_corpus.manifest import (  # noqa: E402
    CorpusEntry,
    Manifest,
    ManifestError,
    TensorSpec,
    load_manifest,
    sha256_file,
    summarize,
    summary_table,
    write_manifest,
)
from eval_corpus.recipes import RECIPES, Recipe, by_name, check_recipes, with_sources  # noqa: E402
from eval_corpus.runner import SCRIPTS_DIR, run_worker  # noqa: E402

MAX_INFER_S = 1.5     # models slower than this for one inference at 1 thread are left out
MAX_FILE_MB = 150
CHECK_TIMEOUT_S = 300


def default_out() -> Path:
    return envs.cache_dir() / "eval-corpus"


def select(args: argparse.Namespace) -> list[Recipe]:
    table = by_name()
    if args.only:
        unknown = [n for n in args.only if n not in table]
        if unknown:
            raise SystemExit(f"make_eval_corpus: unknown recipe(s) {unknown}; --list shows them all")
        return [table[n] for n in args.only]
    if args.quick:
        return [r for r in RECIPES if r.quick]
    return list(RECIPES)


def load_existing(path: Path) -> Manifest | None:
    if not path.exists():
        return None
    return load_manifest(path)  # a broken manifest is an error the user must see, not something to overwrite


def reusable(entry: CorpusEntry | None, recipe: Recipe, manifest: Manifest, retry_failed: bool) -> bool:
    """The manifest already holds this recipe's result and its file (if any) is intact."""
    if entry is None or entry.key != recipe.key:
        return False
    if not entry.built or entry.runs is False:
        return not retry_failed
    if entry.excluded:
        return True
    path = manifest.file(entry)
    return path.is_file() and path.stat().st_size == entry.file_bytes and sha256_file(path) == entry.sha256


def base_entry(recipe: Recipe) -> CorpusEntry:
    return CorpusEntry(name=recipe.name, key=recipe.key, format=recipe.format, dtype=recipe.dtype,
                       exporter=recipe.exporter_label, exporter_version="", library=recipe.library,
                       library_version="", arch=recipe.arch, family=recipe.family, seed=recipe.seed, built=False,
                       source=recipe.source or None, quick=recipe.quick)


def run_check(recipe: Recipe, path: Path, bench_shapes: list[list[int]]) -> dict[str, Any]:
    """eval_corpus.check in a child process of this interpreter (the project venv's runtimes)."""
    cmd = [sys.executable, "-m", "eval_corpus.check", recipe.format, str(path), json.dumps(bench_shapes),
           str(recipe.seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S,
                              env={**os.environ, "PYTHONPATH": str(SCRIPTS_DIR)})
    except subprocess.TimeoutExpired:
        return {"runs": False, "error": f"the check did not finish in {CHECK_TIMEOUT_S} s", "inputs": [],
                "outputs": []}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"runs": False, "inputs": [], "outputs": [],
                "error": f"the runtime process died (exit {proc.returncode}): {' | '.join(tail)}"[:1500]}
    return json.loads(lines[-1])


def finish_entry(recipe: Recipe, result: dict[str, Any], out_dir: Path, sources: dict[str, CorpusEntry],
                 max_infer_s: float) -> CorpusEntry:
    """The manifest entry for one exporter result: file facts, then the runtime check."""
    entry = base_entry(recipe)
    entry.export_s = result.get("export_s")
    source = sources.get(recipe.source) if recipe.source else None
    entry.exporter_version = result.get("exporter_version", "")
    entry.library_version = result.get("library_version") or (source.library_version if source else "")
    entry.params = result.get("params", source.params if source else None)
    if not result.get("ok"):
        entry.error = result.get("error") or "the exporter failed without a message"
        return entry
    path = out_dir / recipe.filename
    entry.built, entry.path = True, recipe.filename
    entry.file_bytes, entry.sha256 = path.stat().st_size, sha256_file(path)
    entry.opset = result.get("opset")
    return apply_check(entry, recipe, path, result.get("bench_shapes") or [], max_infer_s)


def apply_check(entry: CorpusEntry, recipe: Recipe, path: Path, bench_shapes: list[list[int]],
                max_infer_s: float) -> CorpusEntry:
    """Run the file in its runtime and record what happened; a model too big or too slow for the corpus is
    kept in the manifest as excluded (with the reason) and its file removed."""
    check = run_check(recipe, path, bench_shapes)
    entry.runs = bool(check["runs"])
    entry.error = check.get("error")
    entry.check_ms_1t = check.get("check_ms_1t")
    entry.inputs = [TensorSpec(**t) for t in check.get("inputs", [])]
    entry.outputs = [TensorSpec(**t) for t in check.get("outputs", [])]
    too_big = (entry.file_bytes or 0) > MAX_FILE_MB * 2**20
    too_slow = entry.check_ms_1t is not None and entry.check_ms_1t > max_infer_s * 1000
    if too_big or too_slow:
        entry.excluded = (f"{(entry.file_bytes or 0) / 2**20:.0f} MiB, over the {MAX_FILE_MB} MiB limit" if too_big
                          else f"one inference took {entry.check_ms_1t / 1000:.2f} s at 1 thread "
                               f"(limit {max_infer_s} s)")
        path.unlink()
        entry.path, entry.file_bytes, entry.sha256 = None, None, None
    return entry


def recheck(recipe: Recipe, entry: CorpusEntry, out_dir: Path, max_infer_s: float) -> CorpusEntry:
    """Run a re-used file's check again (after a runtime upgrade, say), at the bench shapes it had."""
    if not entry.path:
        return entry
    shapes = [t.bench_shape for t in entry.inputs if t.bench_shape]
    return apply_check(entry, recipe, out_dir / entry.path, shapes, max_infer_s)


def describe(entry: CorpusEntry) -> str:
    if not entry.built:
        return f"EXPORT FAILED: {entry.error}"
    if not entry.runs:
        return f"DOES NOT RUN: {entry.error}"
    size = f"{entry.file_bytes / 2**20:.2f} MiB" if entry.file_bytes else "-"
    state = f"excluded: {entry.excluded}" if entry.excluded else "ok"
    return f"{size:>10}  {entry.check_ms_1t:8.1f} ms  export {entry.export_s or 0:6.1f} s  {state}"


def list_recipes(recipes: list[Recipe], manifest: Manifest | None) -> None:
    existing = manifest.by_name() if manifest else {}
    print(f"{'name':44} {'format':6} {'dtype':13} {'exporter':48} {'quick':5} state")
    for r in recipes:
        e = existing.get(r.name)
        if e is None or e.key != r.key:
            state = "not built" if e is None else "recipe changed"
        elif not e.built:
            state = "export failed"
        elif not e.runs:
            state = "does not run"
        else:
            state = f"excluded ({e.excluded})" if e.excluded else "ok"
        print(f"{r.name:44} {r.format:6} {r.dtype:13} {r.exporter_label:48} {'yes' if r.quick else '':5} {state}")


def print_summary(manifest: Manifest, timings: dict[str, float], built_now: int) -> None:
    summary = summarize(manifest)
    print()
    print(summary_table(summary))
    print()
    for name, seconds in timings.items():
        print(f"time {name}: {seconds:.1f} s")
    print(f"built or re-checked this run: {built_now}; manifest: {manifest.root / 'manifest.json'}")


def build_with_env(env_name: str, env_jobs: list[Recipe], out_dir: Path, entries: dict[str, CorpusEntry],
                   manifest: Manifest, args: argparse.Namespace, timings: dict[str, float],
                   save: Callable[[], None]) -> int:
    """Install (or re-use) one exporter env, export its recipes, then check each file; returns how many."""
    env = envs.ENVS[env_name]
    t0 = time.monotonic()
    python = envs.ensure_env(env, envs.cache_dir(), out_dir / "logs")
    versions = envs.installed_versions(env, envs.cache_dir())
    timings[f"{env_name} env (install or re-use)"] = time.monotonic() - t0
    print(f"{env_name} env {envs.env_dir(env, envs.cache_dir())}: "
          + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    for problem in envs.check_pins(env, versions):
        print(f"  warning: {problem}")
    manifest.environments[env_name] = versions

    results: dict[str, dict[str, Any]] = {}

    def on_done(result: dict[str, Any]) -> None:
        results[result["name"]] = result
        state = "exported" if result.get("ok") else f"FAILED: {result.get('error', '')[:200]}"
        print(f"  [{len(results)}/{len(env_jobs)}] {result['name']}: {state} ({result.get('export_s', 0)} s)",
              flush=True)

    t0 = time.monotonic()
    table = by_name()
    jobs = [(r, out_dir / r.filename, out_dir / table[r.source].filename if r.source else None) for r in env_jobs]
    run_worker(env_name, python, jobs, out_dir / "logs", args.recipe_timeout, on_done)
    timings[f"{env_name} exports ({len(env_jobs)} models)"] = time.monotonic() - t0

    t0 = time.monotonic()
    for recipe in env_jobs:  # sources before the models made from them (with_sources' order)
        result = results.get(recipe.name, {"ok": False, "error": "the exporter never reported this model"})
        entries[recipe.name] = finish_entry(recipe, result, out_dir, entries, args.max_infer_s)
        print(f"  check {recipe.name:44} {describe(entries[recipe.name])}", flush=True)
        save()
    timings[f"{env_name} checks"] = time.monotonic() - t0
    return len(env_jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="corpus folder (default: "
                        "$EDGEBENCH_CACHE_DIR/eval-corpus, else ~/.cache/edgebench/eval-corpus)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these recipes (and their sources)")
    parser.add_argument("--quick", action="store_true", help="a small subset (9 models, both formats, fp32 and int8) for development")
    parser.add_argument("--list", action="store_true", help="list the recipes and their state, build nothing")
    parser.add_argument("--force", action="store_true", help="rebuild the selected models even if unchanged")
    parser.add_argument("--recheck", action="store_true",
                        help="run the runtime check again on the re-used files (e.g. after a runtime upgrade)")
    parser.add_argument("--retry-failed", action="store_true", help="retry recipes that failed last time")
    parser.add_argument("--recipe-timeout", type=float, default=900, help="seconds one export may take")
    parser.add_argument("--max-infer-s", type=float, default=MAX_INFER_S,
                        help="leave out models slower than this for one inference at 1 thread")
    args = parser.parse_args(argv)
    check_recipes(RECIPES)
    out_dir = (args.out or default_out()).expanduser().resolve()
    manifest_path = out_dir / "manifest.json"
    try:
        existing = load_existing(manifest_path)
    except ManifestError as e:
        print(f"make_eval_corpus: {e}\nmove {manifest_path} away to start a fresh corpus", file=sys.stderr)
        return 2
    selected = select(args)
    if args.list:
        list_recipes(selected, existing)
        return 0
    try:
        import ai_edge_litert  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as e:
        print(f"make_eval_corpus: run it with the project's venv (.venv/bin/python): {e}", file=sys.stderr)
        return 2

    t_start = time.monotonic()
    timings: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = existing or Manifest(root=out_dir, created="", environments={}, entries=[])
    manifest.root = out_dir
    known = {r.name for r in RECIPES}
    for stale in [e for e in manifest.entries if e.name not in known]:  # recipes since removed
        if stale.path:
            (out_dir / stale.path).unlink(missing_ok=True)
    entries = {e.name: e for e in manifest.entries if e.name in known}
    wanted = with_sources(selected)
    todo = [r for r in wanted
            if (args.force and r in selected) or not reusable(entries.get(r.name), r, manifest, args.retry_failed)]
    print(f"{len(wanted)} recipes selected, {len(wanted) - len(todo)} re-used, {len(todo)} to build")

    def save() -> None:
        manifest.entries = [entries[r.name] for r in RECIPES if r.name in entries]
        manifest.created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        write_manifest(manifest_path, manifest)

    built_now = 0
    if args.recheck:
        t0 = time.monotonic()
        for recipe in wanted:
            if recipe not in todo and recipe.name in entries:
                entries[recipe.name] = recheck(recipe, entries[recipe.name], out_dir, args.max_infer_s)
                print(f"  recheck {recipe.name:42} {describe(entries[recipe.name])}", flush=True)
                built_now += 1
        save()
        timings["re-checks"] = time.monotonic() - t0
    for env_name in ("torch", "tf"):
        env_jobs = [r for r in todo if r.env == env_name]
        if env_jobs:
            try:
                built_now += build_with_env(env_name, env_jobs, out_dir, entries, manifest, args, timings, save)
            except (envs.EnvError, subprocess.CalledProcessError) as e:
                print(f"make_eval_corpus: the {env_name} exporter env is not usable: {e}", file=sys.stderr)
                return 2

    import ai_edge_litert as litert
    import onnxruntime as ort
    manifest.environments["check"] = {"python": sys.version.split()[0], "onnxruntime": ort.__version__,
                                      "ai-edge-litert": getattr(litert, "__version__", "unknown")}
    save()
    timings["total"] = time.monotonic() - t_start
    print_summary(load_manifest(manifest_path), timings, built_now)
    return 0


if __name__ == "__main__":
    sys.exit(main())
