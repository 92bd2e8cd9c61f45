"""colaw architectures in Python: loading, validation, exact parameter counts, space sampling.

This mirrors the Rust definitions so the llama.cpp scripts need no colaw binary:
- loading: `src/architecture/load.rs` (colaw TOML/JSON file, Hugging Face config.json of
  model_type llama/qwen2/mistral/mixtral, or a preset name under models/archs/);
- validation and parameter counts: `src/architecture/mod.rs` (token embedding, LM head unless
  tied, per layer Q/K/V/O (+ Q/K/V biases), two RMSNorm vectors, SwiGLU per expert, a bias-free
  router when experts > 1, the final RMSNorm);
- instance spaces: `src/space.rs` (`[space]` of an instance TOML: widths × depths, with the same
  rules and skips).
test_gguf.py cross-checks the counts against `colaw params` when a colaw binary is at hand.

An architecture is a plain dict with colaw's field names:
name, layers, hidden, heads, kv_heads, head_dim, ffn, experts, active_experts, vocab,
tied_embeddings, qkv_bias.
"""
import json
import random
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRESET_DIR = REPO_ROOT / "models" / "archs"

FIELDS = ("name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts",
          "active_experts", "vocab", "tied_embeddings", "qkv_bias")
ARCH_FILE_KEYS = set(FIELDS) | {"source", "published_params"}
HF_MODEL_TYPES = ("llama", "qwen2", "mistral", "mixtral")


class ArchError(ValueError):
    """Bad architecture input: the message names the source, the field, the value and what is allowed."""


def _int(origin, field, v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArchError(f"{origin}: field `{field}` = {v!r}: must be an integer")
    return v


def make_arch(origin, name, layers, hidden, heads, ffn, vocab, kv_heads=None, head_dim=None,
              experts=None, active_experts=None, tied=False, qkv_bias=False, names=None):
    """Apply colaw's defaults and checks (RawArch::finish + Architecture::validate)."""
    n = names or {}
    fld = lambda k: n.get(k, k)  # noqa: E731 (field name as the source file spells it)
    vals = dict(layers=layers, hidden=hidden, heads=heads, ffn=ffn, vocab=vocab)
    for k, v in vals.items():
        _int(origin, fld(k), v)
    if kv_heads is None:
        kv_heads = heads
    if head_dim is None:
        if heads <= 0 or hidden % heads != 0:
            raise ArchError(f"{origin}: field `{fld('heads')}` = {heads}: must divide "
                            f"{fld('hidden')} = {hidden} when {fld('head_dim')} is not given")
        head_dim = hidden // heads
    experts = 1 if experts is None else experts
    active_experts = 1 if active_experts is None else active_experts
    arch = dict(name=name, layers=layers, hidden=hidden, heads=heads, kv_heads=_int(origin, fld("kv_heads"), kv_heads),
                head_dim=_int(origin, fld("head_dim"), head_dim), ffn=ffn,
                experts=_int(origin, fld("experts"), experts),
                active_experts=_int(origin, fld("active_experts"), active_experts), vocab=vocab,
                tied_embeddings=bool(tied), qkv_bias=bool(qkv_bias))
    for k in ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts", "active_experts", "vocab"):
        if arch[k] <= 0 or arch[k] > 2**32 - 1:
            raise ArchError(f"{origin}: field `{fld(k)}` = {arch[k]}: must be a positive integer")
    if arch["heads"] % arch["kv_heads"] != 0:
        raise ArchError(f"{origin}: field `{fld('kv_heads')}` = {arch['kv_heads']}: must divide heads = "
                        f"{arch['heads']} (grouped-query attention)")
    if arch["active_experts"] > arch["experts"]:
        raise ArchError(f"{origin}: field `{fld('active_experts')}` = {arch['active_experts']}: must be at most "
                        f"experts = {arch['experts']}")
    return arch


def arch_from_colaw(d, origin):
    unknown = set(d) - ARCH_FILE_KEYS
    if unknown:
        raise ArchError(f"{origin}: unknown field `{sorted(unknown)[0]}`: allowed {', '.join(sorted(ARCH_FILE_KEYS))}")
    for k in ("layers", "hidden", "heads", "ffn", "vocab"):
        if k not in d:
            raise ArchError(f"{origin}: field `{k}` is missing: a colaw architecture file needs it")
    return make_arch(origin, d.get("name"), d["layers"], d["hidden"], d["heads"], d["ffn"], d["vocab"],
                     d.get("kv_heads"), d.get("head_dim"), d.get("experts"), d.get("active_experts"),
                     d.get("tied_embeddings", False), d.get("qkv_bias", False))


HF_NAMES = dict(layers="num_hidden_layers", hidden="hidden_size", heads="num_attention_heads",
                kv_heads="num_key_value_heads", head_dim="head_dim", ffn="intermediate_size",
                experts="num_local_experts", active_experts="num_experts_per_tok", vocab="vocab_size")


def arch_from_hf(d, origin):
    mt = d.get("model_type")
    if mt not in HF_MODEL_TYPES:
        raise ArchError(f"{origin}: field `model_type` = {mt!r}: one of {', '.join(HF_MODEL_TYPES)}")

    def req(k):
        if d.get(k) is None:
            raise ArchError(f"{origin}: field `{k}` is missing: a Hugging Face config.json of this model_type must set it")
        return d[k]

    if mt == "llama" and d.get("mlp_bias", False):
        raise ArchError(f"{origin}: field `mlp_bias` = true: colaw models bias-free SwiGLU; must be false")
    qkv_bias = {"llama": bool(d.get("attention_bias", False)), "mistral": False, "qwen2": True, "mixtral": False}[mt]
    experts = active = None
    if mt == "mixtral":
        experts, active = req("num_local_experts"), req("num_experts_per_tok")
    name = d.get("_name_or_path") or origin
    return make_arch(origin, name, req("num_hidden_layers"), req("hidden_size"), req("num_attention_heads"),
                     req("intermediate_size"), req("vocab_size"), d.get("num_key_value_heads"), d.get("head_dim"),
                     experts, active, d.get("tie_word_embeddings", False), qkv_bias, names=HF_NAMES)


def preset_names():
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_arch(spec):
    """A colaw .toml/.json file, a Hugging Face config.json, or a preset name (case-insensitive)."""
    path = Path(spec)
    if path.is_file():
        text = path.read_text()
        try:
            d = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
            raise ArchError(f"{spec}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {e}") from None
        arch = arch_from_hf(d, spec) if "model_type" in d else arch_from_colaw(d, spec)
        if not arch["name"]:
            arch["name"] = path.stem
        return arch
    for name in preset_names():
        if name.lower() == spec.lower():
            arch = load_arch(str(PRESET_DIR / f"{name}.toml"))
            arch["name"] = arch["name"] or name
            return arch
    raise ArchError(f"unknown architecture `{spec}`: not a file, and not a preset ({', '.join(preset_names())})")


def param_counts(a):
    """Exact parameter counts, as Architecture::params (elements)."""
    d, q, kv = a["hidden"], a["heads"] * a["head_dim"], a["kv_heads"] * a["head_dim"]
    attention = d * q + 2 * d * kv + q * d + ((q + 2 * kv) if a["qkv_bias"] else 0)
    expert = 3 * d * a["ffn"]
    router = d * a["experts"] if a["experts"] > 1 else 0
    per_layer = attention + a["experts"] * expert + router + 2 * d
    embedding = a["vocab"] * d
    lm_head = 0 if a["tied_embeddings"] else embedding
    total = embedding + lm_head + a["layers"] * per_layer + d
    inactive = a["layers"] * (a["experts"] - a["active_experts"]) * expert
    return dict(total=total, embedding=embedding, lm_head=lm_head, non_embedding=total - embedding - lm_head,
                active=total - inactive, per_layer=per_layer)


def label(a):
    """Architecture::label, e.g. l16-d2048-h32/8x64-f8192-E8K2-V128256 (+ -tied, -qkvb)."""
    moe = f"-E{a['experts']}K{a['active_experts']}" if a["experts"] > 1 else ""
    s = f"l{a['layers']}-d{a['hidden']}-h{a['heads']}/{a['kv_heads']}x{a['head_dim']}-f{a['ffn']}{moe}-V{a['vocab']}"
    return s + ("-tied" if a["tied_embeddings"] else "") + ("-qkvb" if a["qkv_bias"] else "")


# ---------------------------------------------------------------- instance spaces (src/space.rs)

def _grid(origin, field, g):
    if isinstance(g, dict):
        unknown = set(g) - {"from", "to", "step"}
        if unknown or "from" not in g or "to" not in g:
            raise ArchError(f"{origin}: field `{field}` = {g!r}: a list or {{ from, to, step }}")
        step = g.get("step", 1)
        if step <= 0:
            raise ArchError(f"{origin}: field `{field}.step` = {step}: must be a positive integer")
        if g["to"] < g["from"]:
            raise ArchError(f"{origin}: field `{field}.to` = {g['to']}: must be ≥ from = {g['from']}")
        vals = list(range(g["from"], g["to"] + 1, step))
    elif isinstance(g, list):
        vals = g
    else:
        raise ArchError(f"{origin}: field `{field}` = {g!r}: a list or {{ from, to, step }}")
    if not vals:
        raise ArchError(f"{origin}: field `{field}` = []: needs at least one value")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ArchError(f"{origin}: field `{field}` = {v!r}: values must be positive integers")
    return sorted(set(vals))


SPACE_KEYS = {"layers", "hidden", "heads", "head_dim", "kv_heads", "ffn_ratio", "ffn", "ffn_multiple", "moe",
              "weight_dtype", "kv_dtype", "vocab", "tied", "qkv_bias", "rules"}


def space_designs(instance_path):
    """(widths, depths) of an instance file's [space], as SpaceSpec::enumerate (dtypes dropped:
    the storage format is chosen by the measurement, not by the architecture)."""
    origin = str(instance_path)
    try:
        doc = tomllib.loads(Path(instance_path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ArchError(f"{origin}: cannot read the instance: {e}") from None
    sp = doc.get("space")
    if not isinstance(sp, dict):
        raise ArchError(f"{origin}: field `space` is missing: an instance needs a [space] table")
    unknown = set(sp) - SPACE_KEYS
    if unknown:
        raise ArchError(f"{origin}: unknown field `space.{sorted(unknown)[0]}`")
    depths = _grid(origin, "space.layers", sp["layers"])
    hidden = _grid(origin, "space.hidden", sp["hidden"])
    heads = _grid(origin, "space.heads", sp["heads"]) if "heads" in sp else None
    head_dims = _grid(origin, "space.head_dim", sp["head_dim"]) if "head_dim" in sp else None
    if heads is None and head_dims is None:
        raise ArchError(f"{origin}: field `space.heads` is missing: give `heads` or `head_dim` (or both)")
    kv = []
    for i, c in enumerate(sp.get("kv_heads", ["heads"])):
        if isinstance(c, str) and c.replace(" ", "") in ("heads", "=heads"):
            kv.append(None)
        elif isinstance(c, int) and not isinstance(c, bool) and c > 0:
            kv.append(c)
        else:
            raise ArchError(f"{origin}: field `space.kv_heads[{i}]` = {c!r}: must be a positive integer or \"heads\"")
    if ("ffn_ratio" in sp) == ("ffn" in sp):
        raise ArchError(f"{origin}: field `space.ffn_ratio`: give `ffn_ratio` or `ffn`, not both or neither")
    rules = sp.get("rules", {})
    moe = [tuple(p) for p in sp.get("moe", [[1, 1]])]
    for i, (e, k) in enumerate(moe):
        if not (1 <= k <= e):
            raise ArchError(f"{origin}: field `space.moe[{i}]` = [{e}, {k}]: must be [experts, active] with 1 ≤ active ≤ experts")
    vocab = _grid(origin, "space.vocab", sp["vocab"]) if "vocab" in sp else None
    if vocab is None:
        raise ArchError(f"{origin}: field `space.vocab` is missing: it is required")
    tied = sp.get("tied", [False])
    qkv_bias = bool(sp.get("qkv_bias", False))
    widths = []
    for d in hidden:
        if heads is not None and head_dims is None:
            hh = [(h, d // h) for h in heads if d % h == 0]
        elif heads is None:
            hh = [(d // hd, hd) for hd in head_dims if d % hd == 0]
        else:
            q_eq = rules.get("q_dim_equals_hidden", True)
            hh = [(h, hd) for h in heads for hd in head_dims if not q_eq or h * hd == d]
        hh = [(h, hd) for h, hd in hh
              if rules.get("min_head_dim", 0) <= hd <= rules.get("max_head_dim", 2**32)]
        if "ffn" in sp:
            ffns = _grid(origin, "space.ffn", sp["ffn"])
        else:
            m = sp.get("ffn_multiple", 1)
            # Rust's f64::round rounds half away from zero; Python's round() is banker's.
            ffns = sorted({max(1, int(x * d / m + 0.5)) * m for x in sp["ffn_ratio"]})
        for h, hd in hh:
            for k in sorted({h if k is None else k for k in kv}):
                if k > h or h % k != 0 or ("max_gqa" in rules and h // k > rules["max_gqa"]):
                    continue
                for ff in ffns:
                    for e, a in moe:
                        if "max_active_ffn_ratio" in rules and a * ff / d > rules["max_active_ffn_ratio"] + 1e-12:
                            continue
                        for v in vocab:
                            for t in tied:
                                widths.append(dict(hidden=d, heads=h, kv_heads=k, head_dim=hd, ffn=ff, experts=e,
                                                   active_experts=a, vocab=v, tied_embeddings=bool(t),
                                                   qkv_bias=qkv_bias))
    if not widths:
        raise ArchError(f"{origin}: field `space`: no width configuration satisfies the rules")
    return widths, depths


def sample_space(instance_path, n, seed, max_params=None, dense_only=False):
    """n distinct designs drawn uniformly (seeded) from widths × depths; designs above
    max_params total parameters (or MoE designs with dense_only) are skipped."""
    widths, depths = space_designs(instance_path)
    if dense_only:
        widths = [w for w in widths if w["experts"] == 1]
    total = len(widths) * len(depths)
    rng = random.Random(seed)
    out, seen, tries = [], set(), 0
    while len(out) < n and tries < 50 * n + 1000 and len(seen) < total:
        tries += 1
        i = rng.randrange(total)
        if i in seen:
            continue
        seen.add(i)
        a = dict(widths[i // len(depths)], layers=depths[i % len(depths)])
        if max_params is not None and param_counts(a)["total"] > max_params:
            continue
        a["name"] = f"{Path(instance_path).stem}-s{seed}-{len(out):03d}"
        out.append({k: a[k] for k in FIELDS})
    return out
