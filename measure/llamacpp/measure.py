#!/usr/bin/env python3
"""Time colaw designs with llama.cpp's llama-bench and write colaw's measurement CSV.

    # designs sampled from an instance's space (seeded), or listed (presets / files)
    python3 measure/llamacpp/measure.py --space INSTANCE.toml --designs 20 --seed 1 --out m.csv
    python3 measure/llamacpp/measure.py --archs SmolLM2-135M my.toml config.json --out m.csv

For every design and format: write the F16 GGUF with random weights and quantize it
(make_gguf.py), then run llama-bench twice —
  prefill: `-p P1,P2,.. -n 0` from an empty cache (one row per P, `tokens` = P);
  decode:  `-p 0 -n N -d D1,D2,..`: N single-token steps after a cache of D tokens (one row per D;
           the steps attend to D … D+N−1 cached positions, so `tokens` = D + (N−1)/2 rounded and
           `latency_ms` = the repetition's time / N) —
with `-r R` repetitions after llama-bench's own warm-up, batch 1. `latency_ms` is the median of
repetitions 2…R (the first timed repetition carries a one-off cost of several ms); min, max,
mean and relative spread ((max−min)/median) of the same repetitions, and every sample, are
extra columns.

The CSV has colaw's schema (src/measurement.rs: the reader looks columns up by name and
ignores the others) followed by extra columns: format, bits_per_weight, weight_bytes, params,
latency_min_ms, latency_max_ms, latency_mean_ms, rel_spread, repeats, samples_ms, n_prompt,
depth, n_gen, n_batch, n_ubatch, threads, flash_attn, n_gpu_layers, backend, device,
llama_cpp_version, label. Device facts (CPU model, GPU, driver, versions) also go to
<out>.device.json.

Resumable: rows already in --out (same design, format, phase, length, threads, engine) are not
measured again. Each (design, format) is appended as soon as it is measured, by rewriting the
CSV to a temporary file and renaming it, so an interruption never leaves half a row. Bad input
(an unsupported design or format, a missing llama-bench) stops before anything is measured;
a design llama.cpp fails on is reported, skipped, and the exit status is 1.
"""
import argparse
import csv
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_gguf  # noqa: E402
from colaw_arch import ArchError, label, load_arch, param_counts, sample_space  # noqa: E402

SCHEMA = ["hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied", "phase", "batch", "tokens",
          "name", "experts", "active_experts", "qkv_bias", "weight_dtype", "kv_dtype", "compute_dtype", "latency_ms",
          "engine"]
EXTRA = ["format", "weight_format", "kv_cache_type", "bits_per_weight", "weight_bytes", "params", "latency_min_ms", "latency_max_ms", "latency_mean_ms",
         "rel_spread", "repeats", "samples_ms", "n_prompt", "depth", "n_gen", "n_batch", "n_ubatch", "threads",
         "flash_attn", "n_gpu_layers", "backend", "device", "llama_cpp_version", "label"]
COLUMNS = SCHEMA + EXTRA


@dataclass
class Context:
    """Facts shared by every row of a run."""
    engine: str
    threads: int
    version: str
    device: str
    backend: str
    flash_attn: str = "on"
    n_gpu_layers: int = 0
    n_batch: int = 2048
    n_ubatch: int = 512


def row_for(a, fmt, phase, tokens, latency_ms, extra, ctx):
    """One CSV row (dict over COLUMNS)."""
    row = dict(hidden=a["hidden"], layers=a["layers"], heads=a["heads"], kv_heads=a["kv_heads"],
               head_dim=a["head_dim"], ffn=a["ffn"], vocab=a["vocab"], tied=str(a["tied_embeddings"]).lower(),
               phase=phase, batch=1, tokens=tokens, name=a.get("name") or label(a), experts=a["experts"],
               active_experts=a["active_experts"], qkv_bias=str(a["qkv_bias"]).lower(),
               weight_dtype=make_gguf.FORMATS[fmt], kv_dtype="fp16", compute_dtype="fp16",
               latency_ms=round(latency_ms, 6), engine=ctx.engine, format=fmt, weight_format=fmt, kv_cache_type="f16", threads=ctx.threads,
               flash_attn=ctx.flash_attn, n_gpu_layers=ctx.n_gpu_layers, backend=ctx.backend, device=ctx.device,
               llama_cpp_version=ctx.version, label=label(a), n_batch=ctx.n_batch, n_ubatch=ctx.n_ubatch)
    row.update(extra)
    return {c: row.get(c, "") for c in COLUMNS}


def key_of(row):
    """Identity of a row for resuming."""
    return (row["label"], row["format"], row["phase"], str(row["n_prompt"]), str(row["depth"]), str(row["n_gen"]),
            str(row["threads"]), row["engine"])


def done_keys(out):
    if not Path(out).is_file():
        return set()
    with open(out, newline="") as f:
        return {key_of(r) for r in csv.DictReader(f)}


def append_rows(out, rows):
    """Append rows atomically: validate all, write old content + rows to a temp file, rename."""
    for r in rows:
        for c in SCHEMA[:11] + ["latency_ms"]:
            if r.get(c) in (None, ""):
                raise ValueError(f"row of {r.get('name')} has no value for column {c}")
    out = Path(out)
    old = out.read_text() if out.is_file() else ""
    if old:
        header = next(csv.reader(io.StringIO(old)))
        if header != COLUMNS:
            raise ValueError(f"{out}: its header differs from this script's columns; write to a new file")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    if not old:
        w.writeheader()
    w.writerows(rows)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(old + buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)


def run_bench(bench, model, args_, nice, timeout_s):
    """llama-bench … -o json; returns its list of test results."""
    cmd = ([] if not nice else ["nice", "-n", str(nice)]) + [bench, "-m", str(model), "-o", "json"] + args_
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"llama-bench ran past {timeout_s} s on {model}") from None
    if r.returncode != 0:
        tail = "\n".join(r.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"llama-bench failed (exit {r.returncode}) on {model}: {' '.join(cmd)}\n{tail}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"llama-bench printed no JSON for {model}: {e}") from None


def stats_ms(ms):
    """Summary of one test's repetitions (ms each). The first timed repetition of every
    llama-bench test carries several ms of one-off cost (seen on CUDA: +5–11 ms on a prefill,
    +0.3 ms per decode step, data/measurements/llamacpp/README.md), so with ≥ 3 repetitions the first
    is left out of latency_ms (the median of the rest), min, max, mean and rel_spread; it stays
    in samples_ms."""
    kept = ms[1:] if len(ms) >= 3 else ms
    med = statistics.median(kept)
    return med, dict(latency_min_ms=round(min(kept), 6), latency_max_ms=round(max(kept), 6),
                     latency_mean_ms=round(statistics.fmean(kept), 6),
                     rel_spread=round((max(kept) - min(kept)) / med, 4), repeats=len(ms),
                     samples_ms=";".join(f"{x:.4f}" for x in ms))


def stats(samples_ns, divide):
    return stats_ms([s / 1e6 / divide for s in samples_ns])


def restat(path):
    """Recompute latency_ms and the spread columns of a CSV from its samples_ms (after a change
    of the summary rule); rewrites the file atomically."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        med, ex = stats_ms([float(x) for x in r["samples_ms"].split(";")])
        r["latency_ms"] = round(med, 6)
        r.update({k: v for k, v in ex.items() if k != "samples_ms"})
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
    return len(rows)


def device_facts(bench, backend):
    """Machine description for the side JSON: CPU model and threads, memory, GPU and driver."""
    facts = dict(hostname_kind="device machine" if backend != "cpu" else "local", platform=platform.platform(),
                 python=platform.python_version(), nproc=os.cpu_count())
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "Hypervisor vendor",
                             "L2 cache", "L3 cache", "Flags"):
                facts["lscpu " + k.strip()] = v.strip() if k.strip() != "Flags" else " ".join(
                    f for f in v.split() if f.startswith(("avx", "amx", "fma", "f16c")))
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0]
        facts["meminfo"] = mem
    except OSError:
        pass
    if shutil.which("nvidia-smi"):
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,"
                            "power.limit", "--format=csv,noheader"], capture_output=True, text=True)
        facts["nvidia-smi"] = q.stdout.strip()
    if shutil.which("nvcc"):
        facts["nvcc"] = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return facts


def version_string(bench):
    p = Path(bench).resolve().parent.parent / "COLAW_LLAMACPP_VERSION"
    if p.is_file():
        kv = dict(line.split("=", 1) for line in p.read_text().splitlines() if "=" in line)
        return f"{kv.get('llama_cpp_commit', 'unknown')[:12]} (llama-cpp-python {kv.get('llama_cpp_python_version', '?')})"
    return "unknown"


def parse_list(s, name, lo, hi):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"error: --{name} = {s!r}: comma-separated integers") from None
    for x in v:
        if not lo <= x <= hi:
            raise SystemExit(f"error: --{name} value {x}: must be in {lo}..{hi}")
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    g = p.add_argument_group("designs (--archs, --space or both)")
    g.add_argument("--archs", nargs="+", help="presets, colaw .toml/.json files or Hugging Face config.json files")
    g.add_argument("--space", help="instance TOML whose [space] is sampled")
    g.add_argument("--designs", type=int, default=20, help="designs drawn from --space (default 20)")
    g.add_argument("--seed", type=int, default=1, help="seed of the --space draw (default 1)")
    g.add_argument("--max-params", type=float, help="skip drawn designs above this many parameters")
    g.add_argument("--dense-only", action="store_true", help="draw only dense designs from --space")
    p.add_argument("--formats", default="F16,Q8_0,Q4_K_M", help="comma-separated (default F16,Q8_0,Q4_K_M)")
    p.add_argument("--prompts", default="128,512,2048", help="prefill lengths (default 128,512,2048)")
    p.add_argument("--depths", default="128,1024,4096", help="decode cache depths (default 128,1024,4096)")
    p.add_argument("--n-gen", type=int, default=16, help="decode steps timed per repetition (default 16)")
    p.add_argument("--repeats", type=int, default=5, help="llama-bench -r (default 5)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="llama-bench -t (default: all cores)")
    p.add_argument("--flash-attn", default="on", choices=["on", "off", "auto"])
    p.add_argument("--ngl", type=int, help="GPU layers (default: 99 with a CUDA build, else 0)")
    p.add_argument("--ubatch", type=int, default=512, help="llama-bench -ub (default 512)")
    p.add_argument("--nice", type=int, help="niceness of llama-bench and llama-quantize (default 19 on CPU, 0 on GPU)")
    p.add_argument("--llama-bench", help="binary (default: $LLAMA_BENCH, else setup.sh's CUDA then CPU build)")
    p.add_argument("--quantize", help="llama-quantize (default: $LLAMA_QUANTIZE, else setup.sh's build)")
    p.add_argument("--engine", help="engine column (default llama.cpp-cpu or llama.cpp-cuda)")
    p.add_argument("--prefetch", type=int,
                   help="designs whose GGUFs are made ahead, one thread each (default 1 on GPU, 0 on CPU)")
    p.add_argument("--prefetch-threads", type=int,
                   help="llama-quantize threads of a GGUF made ahead (default: (cores - 2) / prefetch, at least 1)")
    p.add_argument("--work", default=str(HERE / "target" / "work"), help="folder for GGUF files (deleted per design)")
    p.add_argument("--keep-gguf", action="store_true")
    p.add_argument("--timeout-s", type=int, default=900, help="limit of one llama-bench call")
    p.add_argument("--time-budget-s", type=float, help="start no new design after this many seconds")
    p.add_argument("--out", required=True, help="measurement CSV (appended to; created if missing)")
    p.add_argument("--restat", action="store_true",
                   help="only recompute latency_ms and the spread columns of --out from samples_ms, then exit")
    a = p.parse_args()
    if a.restat:
        print(f"[measure] {restat(a.out)} rows of {a.out} recomputed from samples_ms")
        return

    # ---- validate everything before measuring anything
    try:
        formats = [make_gguf.check_format(f.strip()) for f in a.formats.split(",") if f.strip()]
        if a.archs is None and a.space is None:
            raise ArchError("give --archs, --space or both")
        designs = [load_arch(s) for s in a.archs or []]
        if a.space:
            drawn = sample_space(a.space, a.designs, a.seed, a.max_params, a.dense_only)
            if len(drawn) < a.designs:
                print(f"[measure] note: only {len(drawn)} designs of {a.space} satisfy the limits", file=sys.stderr)
            designs += drawn
        names = [d["name"] for d in designs]
        if len(set(names)) != len(names):
            raise ArchError(f"two designs share the name {sorted(n for n in names if names.count(n) > 1)[0]!r}")
        for d in designs:
            make_gguf.check_supported(d)
    except (ArchError, make_gguf.FormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    prompts = parse_list(a.prompts, "prompts", 1, 1 << 20)
    depths = parse_list(a.depths, "depths", 1, 1 << 20)
    if a.n_gen < 1 or a.repeats < 1 or a.threads < 1:
        raise SystemExit("error: --n-gen, --repeats and --threads must be ≥ 1")
    bench = make_gguf.find_tool(a.llama_bench, "LLAMA_BENCH", "llama-bench")
    quant = make_gguf.find_tool(a.quantize, "LLAMA_QUANTIZE", "llama-quantize")
    if bench is None or (quant is None and formats != ["F16"]):
        raise SystemExit("error: llama-bench / llama-quantize not found: run measure/llamacpp/setup.sh (or --cuda), "
                         "or pass --llama-bench/--quantize PATH")
    vfile = Path(bench).resolve().parent.parent / "COLAW_LLAMACPP_VERSION"
    backend = ("cuda" if "backend=cuda" in vfile.read_text() else "cpu") if vfile.is_file() else (
        "cuda" if "cuda" in str(Path(bench).resolve()) else "cpu")
    ngl = a.ngl if a.ngl is not None else (99 if backend == "cuda" else 0)
    nice = a.nice if a.nice is not None else (19 if backend == "cpu" else 0)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    facts = device_facts(bench, backend)
    ctx = Context(engine=a.engine or f"llama.cpp-{backend}", threads=a.threads, version=version_string(bench),
                  device="", backend=backend, flash_attn=a.flash_attn, n_gpu_layers=ngl, n_ubatch=a.ubatch,
                  n_batch=max(2048, a.ubatch))
    ctx.device = (facts.get("nvidia-smi", "").split(",")[0] if backend == "cuda" else
                  facts.get("lscpu Model name", platform.processor()))
    done = done_keys(out)
    work = Path(a.work)
    common = ["-r", str(a.repeats), "-t", str(a.threads), "-fa", a.flash_attn, "-ngl", str(ngl),
              "-b", str(ctx.n_batch), "-ub", str(a.ubatch)]
    print(f"[measure] {len(designs)} designs × {len(formats)} formats, prefill {prompts}, decode at {depths} "
          f"(+{a.n_gen} steps), {a.repeats} repeats, {a.threads} threads, {backend}, llama.cpp {ctx.version}; "
          f"{len(done)} rows already in {out}", flush=True)

    t0 = time.time()
    failures = []
    side = out.with_suffix(".device.json")
    bench_facts = {}

    def todo_of(d):
        """Formats of design d with rows still missing, and the missing prompt / depth values."""
        lab, th = label(d), str(a.threads)
        pp = sorted({p_ for f in formats for p_ in prompts
                     if (lab, f, "prefill", str(p_), "0", "0", th, ctx.engine) not in done})
        tg = sorted({dp for f in formats for dp in depths
                     if (lab, f, "decode", "0", str(dp), str(a.n_gen), th, ctx.engine) not in done})
        fmts = [f for f in formats if any((lab, f, "prefill", str(p_), "0", "0", th, ctx.engine) not in done
                                          for p_ in prompts) or
                any((lab, f, "decode", "0", str(dp), str(a.n_gen), th, ctx.engine) not in done for dp in depths)]
        return fmts, pp, tg

    def prepare(d, fmts, threads=a.threads, nice_=None):
        return make_gguf.make_all(d, work, fmts, quant, threads=threads, nice=nice_)

    # GGUF files of the next designs are made while this one is timed (--prefetch 1, the default
    # on a GPU, whose host cores are otherwise idle); on a CPU this would disturb the timing.
    # Each design made ahead gets its own thread (GGUF writing is one Python thread, and it
    # dominates a GPU run), with its share of the cores minus two and niceness 10, which leaves
    # llama-bench's host thread a free core.
    prefetch = a.prefetch if a.prefetch is not None else (1 if backend == "cuda" else 0)
    pool = ThreadPoolExecutor(max_workers=prefetch) if prefetch else None
    pre_threads = a.prefetch_threads or max(1, ((os.cpu_count() or 2) - 2) // max(prefetch, 1))
    # No design is made ahead this close to the time budget: it would only delay the exit.
    pre_stop_s = None if a.time_budget_s is None else a.time_budget_s - 30
    pending = {}
    for i, d in enumerate(designs):
        if a.time_budget_s is not None and time.time() - t0 > a.time_budget_s:
            print(f"[measure] time budget {a.time_budget_s:.0f} s reached: stopping before design {i + 1} of "
                  f"{len(designs)} (run again to resume)", flush=True)
            break
        fmts, pp, tg = todo_of(d)
        tag = f"[{i + 1}/{len(designs)}] {d['name']} {label(d)}"
        if not fmts:
            print(f"{tag}: already measured", flush=True)
            continue
        t1 = time.time()
        try:
            mine = pending.pop(i, None)
            if pool is not None:
                for j in range(i + 1, len(designs)):
                    if len(pending) >= prefetch or (pre_stop_s is not None and time.time() - t0 > pre_stop_s):
                        break
                    if j not in pending and todo_of(designs[j])[0]:
                        pending[j] = pool.submit(prepare, designs[j], todo_of(designs[j])[0], pre_threads, 10)
            made = mine.result() if mine is not None else prepare(d, fmts)
            t_prep = time.time() - t1
            by_path = {str(made[f][0]): f for f in fmts}
            models = ",".join(str(made[f][0]) for f in fmts)
            pc = param_counts(d)
            rows = []
            runs = []
            if pp:
                runs.append(("prefill", common + ["-p", ",".join(map(str, pp)), "-n", "0"]))
            if tg:
                runs.append(("decode", common + ["-p", "0", "-n", str(a.n_gen), "-d", ",".join(map(str, tg))]))
            for phase, args_ in runs:
                for t in run_bench(bench, models, args_, nice, a.timeout_s):
                    fmt = by_path[t["model_filename"]]
                    summ = made[fmt][1]
                    base = dict(bits_per_weight=summ["bits_per_weight"], weight_bytes=summ["weight_bytes"],
                                params=pc["total"])
                    if phase == "prefill":
                        med, ex = stats(t["samples_ns"], 1)
                        r = row_for(d, fmt, "prefill", t["n_prompt"], med,
                                    dict(base, n_prompt=t["n_prompt"], depth=0, n_gen=0, **ex), ctx)
                    else:
                        med, ex = stats(t["samples_ns"], t["n_gen"])
                        tokens = int(t["n_depth"] + (t["n_gen"] - 1) / 2 + 0.5)
                        r = row_for(d, fmt, "decode", tokens, med,
                                    dict(base, n_prompt=0, depth=t["n_depth"], n_gen=t["n_gen"], **ex), ctx)
                    if key_of(r) not in done:
                        rows.append(r)
                    bench_facts = t
            append_rows(out, rows)
            done |= {key_of(r) for r in rows}
            for f in fmts:
                rs = [r for r in rows if r["format"] == f]
                summary = ", ".join(
                    f"{'pp' if r['phase'] == 'prefill' else 'tg@'}{r['n_prompt'] if r['phase'] == 'prefill' else r['depth']}"
                    f"={float(r['latency_ms']):.3g}ms±{50 * float(r['rel_spread']):.0f}%" for r in rs)
                print(f"{tag} {f} ({made[f][1]['bits_per_weight']:.2f} bpw): {summary}", flush=True)
            print(f"{tag}: {len(rows)} rows in {time.time() - t1:.1f} s (GGUF {t_prep:.1f} s); "
                  f"{time.time() - t0:.0f} s elapsed", flush=True)
        except (RuntimeError, FileNotFoundError, AssertionError, OSError, KeyError) as e:
            failures.append(f"{d['name']}: {e}")
            print(f"{tag}: FAILED, nothing written: {e}", file=sys.stderr, flush=True)
        if not a.keep_gguf:
            for f in work.glob(f"{d['name']}.*"):
                f.unlink(missing_ok=True)
    if pool is not None:
        pool.shutdown(cancel_futures=True)
    if bench_facts:
        facts.update({k: bench_facts.get(k) for k in ("cpu_info", "gpu_info", "backends", "build_commit",
                                                      "build_number", "type_k", "type_v")})
    facts.update(llama_cpp_version=ctx.version, engine=ctx.engine, threads=a.threads, flash_attn=a.flash_attn,
                 n_gpu_layers=ngl, n_batch=ctx.n_batch, n_ubatch=a.ubatch, repeats=a.repeats, n_gen=a.n_gen,
                 niceness=nice)
    old = json.loads(side.read_text()) if side.is_file() else {}
    old.setdefault("runs", []).append(dict(facts, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                           elapsed_s=round(time.time() - t0, 1), failures=failures))
    side.write_text(json.dumps(old, indent=1) + "\n")
    print(f"[measure] done in {time.time() - t0:.0f} s; {len(failures)} failures; device facts in {side}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
