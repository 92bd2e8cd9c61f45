#!/usr/bin/env python3
"""Write a GGUF (llama architecture, random weights) of a colaw architecture, then quantize it.

    python3 measure/llamacpp/make_gguf.py ARCH --out DIR [--formats F16,Q8_0,Q4_0,Q4_K_M]
        ARCH: a preset name (models/archs/), a colaw .toml/.json file or a Hugging Face config.json

Writes DIR/<name>.F16.gguf with the gguf package (norms and biases F32, matrices F16, values
N(0, 0.02²) — llama.cpp does no data-dependent work, so random weights time like trained
ones), then DIR/<name>.<FORMAT>.gguf with llama.cpp's llama-quantize for every other format,
and reads every file back (gguf reader): the tensor names and shapes must be exactly the
architecture's and the element count must equal colaw's parameter count. Prints one JSON
line per file: path, format, params, bytes of weights, bits per weight, tensor types.

Supported: dense and MoE (experts > 1, softmax top-k routing as Mixtral) llama-style decoders:
GQA, any head_dim, tied or untied embeddings, optional Q/K/V biases. The tokenizer is a
synthesised SentencePiece-style vocabulary of exactly `vocab` tokens (<unk>, <s>, </s>, the
256 byte tokens, then filler pieces), enough for llama.cpp to load the model and for
llama-bench, which feeds random token ids; vocab must therefore be ≥ 259.

Needs numpy and gguf (setup.sh installs gguf==0.19.0; without it the gguf-py copy inside the
pinned llama.cpp source is used) and, for formats other than F16, llama-quantize
(setup.sh builds it; --quantize PATH or $LLAMA_QUANTIZE to point elsewhere).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from colaw_arch import ArchError, label, load_arch, param_counts  # noqa: E402


def import_gguf():
    """The gguf package; falls back to the copy in the pinned llama.cpp source (GPU machine: no pip)."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        vendored = HERE / "target" / "llama.cpp" / "gguf-py"
        if not vendored.is_dir():
            raise SystemExit("error: the Python package `gguf` is missing: run measure/llamacpp/setup.sh "
                             "(pip install gguf==0.19.0)")
        sys.path.insert(0, str(vendored))
    import gguf
    return gguf


# Formats llama-quantize accepts that we support (name → GGML file type it writes), plus F16
# written directly. The weight_dtype column of colaw's schema is the nearest colaw DType.
FORMATS = {
    "F16": "fp16", "Q8_0": "int8", "Q6_K": "int8", "Q5_K_M": "int8", "Q5_0": "int8",
    "Q4_K_M": "int4", "Q4_K_S": "int4", "Q4_0": "int4", "Q4_1": "int4", "Q3_K_M": "int4", "Q2_K": "int4",
}

MIN_VOCAB = 3 + 256
CONTEXT_LENGTH = 32768
RMS_EPS = 1e-5
ROPE_BASE = 10000.0


class FormatError(ValueError):
    pass


def check_format(fmt):
    if fmt not in FORMATS:
        raise FormatError(f"format `{fmt}` is not supported: one of {', '.join(FORMATS)}")
    return fmt


def check_supported(a):
    """Refuse designs the llama GGUF architecture cannot hold, with the reason."""
    origin = a.get("name") or "architecture"
    if a["vocab"] < MIN_VOCAB:
        raise ArchError(f"{origin}: field `vocab` = {a['vocab']}: must be ≥ {MIN_VOCAB} for the synthesised "
                        "tokenizer (3 special + 256 byte tokens)")
    if a["head_dim"] % 2:
        raise ArchError(f"{origin}: field `head_dim` = {a['head_dim']}: must be even (RoPE rotates pairs)")
    if a["experts"] > 1 and a["experts"] > 512:
        raise ArchError(f"{origin}: field `experts` = {a['experts']}: llama.cpp allows at most 512 experts")


def tensor_plan(a):
    """[(name, numpy shape, dtype)] of the GGUF, in file order. numpy shapes are (rows, cols) =
    ggml (ne1, ne0) reversed; colaw's counts use the same elements."""
    d, q, kv, f, e = a["hidden"], a["heads"] * a["head_dim"], a["kv_heads"] * a["head_dim"], a["ffn"], a["experts"]
    plan = [("token_embd.weight", (a["vocab"], d), np.float16)]
    for i in range(a["layers"]):
        b = f"blk.{i}."
        plan += [(b + "attn_norm.weight", (d,), np.float32),
                 (b + "attn_q.weight", (q, d), np.float16),
                 (b + "attn_k.weight", (kv, d), np.float16),
                 (b + "attn_v.weight", (kv, d), np.float16),
                 (b + "attn_output.weight", (d, q), np.float16)]
        if a["qkv_bias"]:
            plan += [(b + "attn_q.bias", (q,), np.float32), (b + "attn_k.bias", (kv,), np.float32),
                     (b + "attn_v.bias", (kv,), np.float32)]
        plan.append((b + "ffn_norm.weight", (d,), np.float32))
        if e == 1:
            plan += [(b + "ffn_gate.weight", (f, d), np.float16), (b + "ffn_up.weight", (f, d), np.float16),
                     (b + "ffn_down.weight", (d, f), np.float16)]
        else:
            plan += [(b + "ffn_gate_inp.weight", (e, d), np.float32),
                     (b + "ffn_gate_exps.weight", (e, f, d), np.float16),
                     (b + "ffn_up_exps.weight", (e, f, d), np.float16),
                     (b + "ffn_down_exps.weight", (e, d, f), np.float16)]
    plan.append(("output_norm.weight", (d,), np.float32))
    if not a["tied_embeddings"]:
        plan.append(("output.weight", (a["vocab"], d), np.float16))
    return plan


class RandomPool:
    """Random N(0, 0.02²) values, drawn once and reused (tiled from a random offset) for every
    tensor: drawing a fresh normal for each of 10⁹ elements would dominate the run time."""

    def __init__(self, seed, size=(1 << 22) + 9973):
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.pool = (rng.standard_normal(size, dtype=np.float32) * 0.02).astype(np.float16)

    def take(self, shape, dtype):
        n = int(np.prod(shape))
        start = int(self.rng.integers(len(self.pool)))
        flat = np.resize(np.roll(self.pool, -start), n)
        return flat.astype(dtype, copy=False).reshape(shape)


def write_f16(a, path, seed=0):
    """Write the F16 GGUF of architecture `a` to `path` (via a .partial file, renamed at the end)."""
    gguf = import_gguf()
    check_supported(a)
    tmp = Path(str(path) + ".partial")
    w = gguf.GGUFWriter(str(tmp), "llama")
    w.add_name(a["name"] or label(a))
    w.add_description(f"colaw design {label(a)}: random weights, for timing only")
    w.add_context_length(CONTEXT_LENGTH)
    w.add_embedding_length(a["hidden"])
    w.add_block_count(a["layers"])
    w.add_feed_forward_length(a["ffn"])
    w.add_head_count(a["heads"])
    w.add_head_count_kv(a["kv_heads"])
    w.add_key_length(a["head_dim"])
    w.add_value_length(a["head_dim"])
    w.add_rope_dimension_count(a["head_dim"])
    w.add_rope_freq_base(ROPE_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_vocab_size(a["vocab"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    if a["experts"] > 1:
        w.add_expert_count(a["experts"])
        w.add_expert_used_count(a["active_experts"])
    # Synthesised SentencePiece ("llama") vocabulary of exactly `vocab` pieces.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(len(tokens), a["vocab"])]
    tt = gguf.TokenType
    types = [tt.UNKNOWN, tt.CONTROL, tt.CONTROL] + [tt.BYTE] * 256 + [tt.NORMAL] * (a["vocab"] - MIN_VOCAB)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * MIN_VOCAB + [-float(i) for i in range(a["vocab"] - MIN_VOCAB)])
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    plan = tensor_plan(a)
    for name, shape, dtype in plan:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        w.add_tensor_info(name, shape, np.dtype(dtype), nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    pool = RandomPool(seed)
    for name, shape, dtype in plan:
        if name.endswith("norm.weight"):
            data = np.ones(shape, dtype=dtype)
        else:
            data = pool.take(shape, dtype)
        w.write_tensor_data(data)
    w.close()
    os.replace(tmp, path)


def find_tool(explicit, env, name):
    """Path of a llama.cpp binary: --flag, then $ENV, then setup.sh's CUDA and CPU builds."""
    for cand in [explicit, os.environ.get(env), HERE / "target" / "cuda" / "bin" / name,
                 HERE / "target" / "cpu" / "bin" / name]:
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return None


def quantize(quant_bin, src, dst, fmt, threads=None, nice=None):
    """llama-quantize SRC DST FMT; the log is kept beside DST (it lists each tensor's real type).
    `nice`: niceness of the tool, so that GGUFs made ahead do not slow the design being timed."""
    tmp = Path(str(dst) + ".partial")
    cmd = (["nice", "-n", str(nice)] if nice else []) + [quant_bin, str(src), str(tmp), fmt] + (
        [str(threads)] if threads else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    Path(str(dst) + ".quantize.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"llama-quantize {fmt} failed (exit {r.returncode}) for {src}:\n{tail}")
    os.replace(tmp, dst)


def read_back(path):
    """{name: (numpy-order shape, type name, bytes)} and file metadata from the gguf reader."""
    gguf = import_gguf()
    r = gguf.GGUFReader(str(path))
    tensors = {}
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        tensors[t.name] = (shape, t.tensor_type.name, int(t.n_bytes))
    meta = {}
    for key in ("general.architecture", "llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                "llama.attention.head_count_kv", "llama.attention.key_length", "llama.feed_forward_length",
                "llama.vocab_size", "llama.expert_count", "llama.expert_used_count"):
        f = r.fields.get(key)
        if f is not None:
            meta[key] = f.contents()
    meta["tokens"] = len(r.fields["tokenizer.ggml.tokens"].data) if "tokenizer.ggml.tokens" in r.fields else 0
    return tensors, meta


def check_file(a, path):
    """Read `path` back; raise AssertionError naming the first difference from architecture `a`.
    Returns a summary: params, weight bytes, bits per weight, tensor type counts."""
    tensors, meta = read_back(path)
    plan = {name: shape for name, shape, _ in tensor_plan(a)}
    if set(tensors) != set(plan):
        missing, extra = sorted(set(plan) - set(tensors)), sorted(set(tensors) - set(plan))
        raise AssertionError(f"{path}: tensors differ from the architecture: missing {missing[:3]}, extra {extra[:3]}")
    for name, shape in plan.items():
        if tensors[name][0] != tuple(shape):
            raise AssertionError(f"{path}: tensor {name} has shape {tensors[name][0]}, the architecture needs {shape}")
    n = sum(int(np.prod(s)) for s, _, _ in tensors.values())
    want = param_counts(a)["total"]
    if n != want:
        raise AssertionError(f"{path}: {n} parameters, colaw counts {want}")
    expect = {"general.architecture": "llama", "llama.block_count": a["layers"], "llama.embedding_length": a["hidden"],
              "llama.attention.head_count": a["heads"], "llama.attention.head_count_kv": a["kv_heads"],
              "llama.attention.key_length": a["head_dim"], "llama.feed_forward_length": a["ffn"],
              "llama.vocab_size": a["vocab"], "tokens": a["vocab"]}
    if a["experts"] > 1:
        expect.update({"llama.expert_count": a["experts"], "llama.expert_used_count": a["active_experts"]})
    for k, v in expect.items():
        if meta.get(k) != v:
            raise AssertionError(f"{path}: metadata {k} = {meta.get(k)!r}, expected {v!r}")
    # Matrices only (≥ 2-D): the bytes a decode step streams are dominated by these.
    wbytes = sum(b for s, _, b in tensors.values())
    types = {}
    for s, t, b in tensors.values():
        if len(s) >= 2:
            types[t] = types.get(t, 0) + 1
    return dict(params=n, weight_bytes=wbytes, bits_per_weight=round(8 * wbytes / n, 4), tensor_types=types)


def make_all(a, out_dir, formats, quant_bin=None, seed=0, threads=None, keep_f16=True, check=True, nice=None):
    """Write the F16 file (if not there) and every format of `formats`; return {format: (path, summary)}."""
    check_supported(a)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = a["name"] or label(a)
    f16 = out_dir / f"{stem}.F16.gguf"
    if not f16.is_file():
        write_f16(a, f16, seed)
    res = {}
    for fmt in formats:
        path = f16 if fmt == "F16" else out_dir / f"{stem}.{fmt}.gguf"
        if not path.is_file():
            if quant_bin is None:
                raise FileNotFoundError("llama-quantize not found: run measure/llamacpp/setup.sh, or pass --quantize "
                                        "PATH (or set $LLAMA_QUANTIZE)")
            quantize(quant_bin, f16, path, fmt, threads, nice)
        res[fmt] = (path, check_file(a, path) if check else None)
    if not keep_f16 and "F16" not in formats:
        f16.unlink(missing_ok=True)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("arch", nargs="+", help="preset name, colaw .toml/.json file or Hugging Face config.json")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--formats", default="F16,Q8_0,Q4_0,Q4_K_M", help=f"comma-separated, of {','.join(FORMATS)}")
    p.add_argument("--quantize", help="llama-quantize binary (default: $LLAMA_QUANTIZE or setup.sh's build)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="llama-quantize threads")
    args = p.parse_args()
    try:
        formats = [check_format(f.strip()) for f in args.formats.split(",") if f.strip()]
        archs = [load_arch(s) for s in args.arch]
        for a in archs:
            check_supported(a)
        quant = find_tool(args.quantize, "LLAMA_QUANTIZE", "llama-quantize")
        if quant is None and any(f != "F16" for f in formats):
            raise FileNotFoundError("llama-quantize not found: run measure/llamacpp/setup.sh, or pass --quantize PATH")
        for a in archs:
            for fmt, (path, summary) in make_all(a, args.out, formats, quant, args.seed, args.threads).items():
                print(json.dumps(dict(arch=a["name"], label=label(a), format=fmt, path=str(path), **summary)))
    except (ArchError, FormatError, FileNotFoundError, RuntimeError, AssertionError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
