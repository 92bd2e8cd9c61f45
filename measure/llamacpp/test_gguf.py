#!/usr/bin/env python3
"""Tests of the llama.cpp harness that need no engine, no Rust and no pytest.

    python3 measure/llamacpp/test_gguf.py          # exit 0 when every test passes

1. GGUF writer: files of dense MHA, GQA, tied/untied, Q/K/V-bias, head_dim ≠ hidden/heads and
   MoE designs read back (gguf reader) with exactly the architecture's tensor names and shapes,
   and their element count equals colaw's parameter count, checked three ways: the Python
   mirror of Architecture::params, hand-worked numbers below, and `colaw params` when a colaw
   binary is found ($COLAW, target/release/colaw; otherwise that part says it was skipped).
   With the binary, the sizes of the spaces in spaces/ also equal `colaw solve`'s candidates.
2. Parameter counts of every preset under models/archs/ equal their published counts.
3. Bad input is refused with a message naming the field: vocab too small for the synthesised
   tokenizer, odd head_dim, unknown format, kv_heads not dividing heads.
4. measure.py's CSV writer: rows already there are skipped on resume, a failing design leaves
   the CSV unchanged, the header matches colaw's schema.
5. End to end (only with setup.sh's CPU build present; otherwise reported as skipped): one tiny
   architecture is written, quantized to Q8_0 and timed by llama-bench, and the row parses.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_gguf  # noqa: E402
import measure  # noqa: E402
from colaw_arch import ArchError, load_arch, make_arch, param_counts, preset_names, PRESET_DIR, sample_space  # noqa: E402

FAILED = []
SKIPPED = []


def test(fn):
    try:
        fn()
        print(f"ok    {fn.__name__}")
    except Exception as e:  # noqa: BLE001 (report every failure, run the rest)
        FAILED.append(fn.__name__)
        print(f"FAIL  {fn.__name__}: {type(e).__name__}: {e}")
    return fn


def arch(**kw):
    base = dict(name=None, layers=2, hidden=128, heads=4, ffn=384, vocab=300)
    base.update(kw)
    name = base.pop("name")
    return make_arch("test", name, **base)


# Hand-worked totals (elements):
# dense MHA, untied: d=128, heads 4×32, ffn 384, V=300, 2 layers:
#   attention 4·128·128 = 65536; SwiGLU 3·128·384 = 147456; norms 2·128 = 256 → 213248 per layer;
#   embeddings 300·128 = 38400, ×2 untied; final norm 128 → 38400·2 + 2·213248 + 128 = 503424.
# GQA kv 1, tied, Q/K/V bias: K,V shrink to 128·32 each: attention 128·128·2 + 2·128·32 = 40960,
#   biases 128 + 2·32 = 192 → per layer 40960+192+147456+256 = 188864; total 38400 + 2·188864 + 128 = 416256.
# head_dim 64 with 4 heads (q width 256 ≠ hidden 128), kv 2, untied:
#   attention 128·256·2 + 2·128·128 = 98304 → per layer 98304+147456+256 = 246016;
#   total 76800 + 2·246016 + 128 = 568960.
# MoE 4 experts top 2, ffn 64, kv 2, tied: attention 128·128·2 + 2·128·64 = 49152; experts
#   4·3·128·64 = 98304; router 128·4 = 512; norms 256 → 148224 per layer; total 38400 + 296448 + 128
#   = 334976; active = 334976 − 2 layers · 2 inactive · 24576 = 236672.
CASES = [
    ("dense-mha-untied", dict(), 503424),
    ("gqa1-tied-bias", dict(kv_heads=1, tied=True, qkv_bias=True), 416256),
    ("headdim64-kv2", dict(head_dim=64, kv_heads=2), 568960),
    ("moe-e4k2-tied", dict(kv_heads=2, ffn=64, experts=4, active_experts=2, tied=True), 334976),
]


def colaw_binary():
    for c in [os.environ.get("COLAW"), HERE.parents[1] / "target" / "release" / "colaw"]:
        if c and Path(c).is_file():
            return str(c)
    return shutil.which("colaw")


@test
def hand_worked_counts():
    for name, kw, total in CASES:
        got = param_counts(arch(name=name, **kw))["total"]
        assert got == total, f"{name}: {got} != hand-worked {total}"
    moe = arch(kv_heads=2, ffn=64, experts=4, active_experts=2, tied=True)
    assert param_counts(moe)["active"] == 236672, param_counts(moe)["active"]


@test
def presets_match_published_counts():
    for n in preset_names():
        published = tomllib.loads((PRESET_DIR / f"{n}.toml").read_text()).get("published_params")
        got = param_counts(load_arch(n))["total"]
        assert published is None or got == published, f"{n}: {got} != published {published}"


@test
def gguf_reads_back_exactly():
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw, total in CASES:
            a = arch(name=name, **kw)
            path = Path(tmp) / f"{name}.F16.gguf"
            make_gguf.write_f16(a, path, seed=1)
            s = make_gguf.check_file(a, path)  # raises on any shape / name / count difference
            assert s["params"] == total, (name, s["params"], total)
            tensors, meta = make_gguf.read_back(path)
            assert ("output.weight" in tensors) == (not a["tied_embeddings"]), name
            assert ("blk.0.attn_q.bias" in tensors) == a["qkv_bias"], name
            assert tensors["blk.1.attn_k.weight"][0] == (a["kv_heads"] * a["head_dim"], a["hidden"]), name
            assert tensors["blk.0.attn_output.weight"][0] == (a["hidden"], a["heads"] * a["head_dim"]), name
            if a["experts"] > 1:
                assert tensors["blk.0.ffn_down_exps.weight"][0] == (a["experts"], a["hidden"], a["ffn"]), name
            assert meta["tokens"] == a["vocab"]
            assert not Path(str(path) + ".partial").exists()


@test
def a_wrong_file_is_caught():
    with tempfile.TemporaryDirectory() as tmp:
        a = arch(kv_heads=2)
        path = Path(tmp) / "x.gguf"
        make_gguf.write_f16(a, path)
        try:
            make_gguf.check_file(dict(a, kv_heads=1), path)
        except AssertionError as e:
            assert "attn_k.weight" in str(e), e
        else:
            raise AssertionError("check_file accepted a file of another architecture")


@test
def colaw_params_agree():
    exe = colaw_binary()
    if exe is None:
        SKIPPED.append("colaw_params_agree: no colaw binary ($COLAW or target/release/colaw)")
        print("      skipped: no colaw binary ($COLAW or target/release/colaw)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw, total in CASES:
            a = arch(name=name, **kw)
            f = Path(tmp) / f"{name}.json"
            f.write_text(json.dumps({k: v for k, v in a.items() if v is not None}))
            out = json.loads(subprocess.run([exe, "params", str(f)], capture_output=True, text=True, check=True).stdout)
            assert out["total"] == total == param_counts(a)["total"], (name, out["total"], total)
            assert out["active"] == param_counts(a)["active"], name


@test
def space_sizes_agree_with_colaw():
    exe = colaw_binary()
    if exe is None:
        SKIPPED.append("space_sizes_agree_with_colaw: no colaw binary ($COLAW or target/release/colaw)")
        print("      skipped: no colaw binary ($COLAW or target/release/colaw)")
        return
    from colaw_arch import space_designs
    for inst in sorted((HERE / "spaces").glob("*.toml")):
        widths, depths = space_designs(inst)
        out = json.loads(subprocess.run([exe, "solve", str(inst), "--solver", "enum"], capture_output=True, text=True,
                                        check=True, cwd=HERE.parents[1]).stdout)
        assert out["candidates"] == len(widths) * len(depths), (inst.name, out["candidates"], len(widths) * len(depths))


@test
def bad_input_is_named():
    bad = [
        (lambda: make_gguf.check_supported(arch(vocab=100)), "vocab"),
        (lambda: make_gguf.check_supported(arch(head_dim=33)), "head_dim"),
        (lambda: make_gguf.check_format("Q4_K_Q"), "Q4_K_Q"),
        (lambda: arch(kv_heads=3), "kv_heads"),
        (lambda: load_arch("no-such-preset"), "no-such-preset"),
    ]
    for fn, word in bad:
        try:
            fn()
        except (ArchError, make_gguf.FormatError) as e:
            assert word in str(e), f"{word} not in: {e}"
        else:
            raise AssertionError(f"accepted bad input ({word})")


@test
def space_sampling_is_seeded_and_valid():
    inst = HERE.parents[1] / "instances" / "paper" / "qwen05b-latency-jetson-orin-nano-8gb.toml"
    a = sample_space(inst, 5, seed=3)
    b = sample_space(inst, 5, seed=3)
    assert a == b and len(a) == 5
    for d in a:
        assert d["heads"] * d["head_dim"] == d["hidden"] and d["heads"] % d["kv_heads"] == 0, d
        assert d["layers"] in range(4, 33, 4) and d["vocab"] == 151936 and d["tied_embeddings"], d


@test
def csv_writer_resumes_and_never_half_writes():
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.csv"
        a = arch(name="t1")
        row = measure.row_for(a, "Q8_0", "decode", 128, 1.5, dict(latency_min_ms=1.4, latency_max_ms=1.7,
                              repeats=5, depth=128, n_gen=1, n_batch=2048, n_ubatch=512), measure.Context(
                              engine="llama.cpp-cpu", threads=2, version="x", device="cpu", backend="cpu"))
        measure.append_rows(out, [row])
        measure.append_rows(out, [row])
        with open(out) as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 2 and rows[0]["phase"] == "decode" and rows[0]["weight_dtype"] == "int8"
        header = next(csv.reader(open(out)))
        assert header[:11] == ["hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied",
                               "phase", "batch", "tokens"], header
        done = measure.done_keys(out)
        assert measure.key_of(rows[0]) in done
        before = out.read_bytes()
        try:
            measure.append_rows(out, [row, dict(row, hidden=None)])
        except ValueError:
            pass
        assert out.read_bytes() == before, "a bad row left a partial write"


@test
def end_to_end_cpu():
    bench = make_gguf.find_tool(None, "LLAMA_BENCH", "llama-bench")
    quant = make_gguf.find_tool(None, "LLAMA_QUANTIZE", "llama-quantize")
    if bench is None or quant is None:
        SKIPPED.append("end_to_end_cpu: llama.cpp is not built (run measure/llamacpp/setup.sh)")
        print("      skipped: llama.cpp is not built (run measure/llamacpp/setup.sh)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "tiny.json"
        f.write_text(json.dumps(dict(name="tiny", layers=2, hidden=128, heads=4, kv_heads=2, ffn=256, vocab=512)))
        out = Path(tmp) / "m.csv"
        r = subprocess.run([sys.executable, str(HERE / "measure.py"), "--archs", str(f), "--formats", "Q8_0",
                            "--prompts", "128", "--depths", "128", "--n-gen", "4", "--repeats", "3", "--threads", "1",
                            "--work", str(Path(tmp) / "w"), "--out", str(out)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        rows = list(csv.DictReader(open(out)))
        assert {x["phase"] for x in rows} == {"prefill", "decode"}, rows
        assert all(float(x["latency_ms"]) > 0 for x in rows)


if __name__ == "__main__":
    print(f"{len(FAILED)} failed, {len(SKIPPED)} skipped" + (f": {', '.join(FAILED)}" if FAILED else ""))
    sys.exit(1 if FAILED else 0)
