"""colaw: choose LLM architectures for a target device, from Python.

The engine is the Rust crate of this repository (loss laws, the roofline cost model, exact
solvers on HiGHS, fitting and the outer loop); this package is a thin layer over it that
speaks dicts and pandas DataFrames. Every function takes the same inputs as the command of
the same name (``colaw eval``, ``colaw solve``, …) and reports errors as :class:`ColawError`
with colaw's message (file, field, value and what is allowed).

>>> import colaw
>>> colaw.params("Qwen2.5-0.5B")["total"]
494032768
>>> r = colaw.solve("instances/paper/table5-jetson-orin-nx-16gb-embodied.toml")
>>> r.design["label"], round(r.objective, 4)          # doctest: +SKIP
>>> r.to_hf_config("winner/")                          # winner/config.json for transformers

Python callables plug in where the Rust library has extension points: objective terms
(:class:`Term`, for the ``enum`` and ``mip-assign`` solvers) and oracles for the outer loop
(:func:`run_loop`). The GIL is released while Rust works; the callables are called back in
batches (one call per width configuration of the design space).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _colaw
from ._colaw import ColawError, __version__

__all__ = [
    "ColawError",
    "DesignView",
    "Fit",
    "Result",
    "Term",
    "__version__",
    "evaluate",
    "evaluate_many",
    "fit",
    "params",
    "pareto",
    "predict",
    "region",
    "run_loop",
    "solve",
    "to_hf_config",
]

ArchLike = Union[str, os.PathLike, Mapping[str, Any]]
InstanceLike = Union[str, os.PathLike, Mapping[str, Any]]
SamplesLike = Union[str, os.PathLike, pd.DataFrame, "Fit"]

# Output columns of evaluate_many, in the order the Rust side fills them.
_FLOAT_COLUMNS = list(_colaw.TABLE_COLUMNS[:9])
_INT_COLUMNS = list(_colaw.TABLE_COLUMNS[9:])
# Design-table columns and the names they may also go by.
_DESIGN_COLUMNS = {
    "layers": ("layers", "num_hidden_layers"),
    "hidden": ("hidden", "hidden_size"),
    "heads": ("heads", "num_attention_heads"),
    "kv_heads": ("kv_heads", "num_key_value_heads"),
    "head_dim": ("head_dim",),
    "ffn": ("ffn", "intermediate_size"),
    "experts": ("experts", "num_local_experts"),
    "active_experts": ("active_experts", "num_experts_per_tok"),
    "vocab": ("vocab", "vocab_size"),
    "tied": ("tied", "tied_embeddings", "tie_word_embeddings"),
    "qkv_bias": ("qkv_bias",),
}


def _arch(arch: ArchLike) -> tuple[str, bool]:
    """(text, is_json) for the Rust side: a preset name or path, or a dict as JSON."""
    if isinstance(arch, Mapping):
        return json.dumps(dict(arch)), True
    return os.fspath(arch), False


def _instance(instance: InstanceLike) -> tuple[str, str]:
    """(kind, text): a dict is sent as JSON, text holding TOML as TOML, anything else as a path."""
    if isinstance(instance, Mapping):
        return "json", json.dumps(dict(instance))
    text = os.fspath(instance)
    if not isinstance(instance, os.PathLike) and ("\n" in text or "=" in text) and not Path(text).is_file():
        return "toml", text
    return "path", text


def _setup(hardware: str, **kw: Any) -> str:
    kw["hardware"] = os.fspath(hardware)
    return json.dumps(kw)


def params(arch: ArchLike) -> dict:
    """Exact parameter counts of an architecture (``colaw params``).

    ``arch`` is a preset name (``"Qwen2.5-0.5B"``), a file (colaw TOML/JSON or a Hugging Face
    ``config.json``) or a dict of the colaw fields (``layers``, ``hidden``, ``heads``, ``ffn``,
    ``vocab``, optional ``kv_heads``, ``head_dim``, ``experts``, ``active_experts``,
    ``tied_embeddings``, ``qkv_bias``) or of a Hugging Face config (with ``model_type``).
    Returns ``total``, ``embedding``, ``lm_head``, ``non_embedding``, ``active``, ``per_layer``
    and the architecture (``arch``).
    """
    return json.loads(_colaw.params_json(*_arch(arch)))


def evaluate(
    arch: ArchLike,
    hardware: str,
    *,
    batch: int = 1,
    prompt: int = 1024,
    gen: int = 16,
    weight_dtype: str = "bf16",
    kv_dtype: str = "bf16",
    compute_dtype: str = "bf16",
    engine: Optional[str] = None,
    weight_format: Optional[str] = None,
    kv_cache_type: Optional[str] = None,
    law: Optional[str] = "paper",
    tokens: Optional[float] = None,
    paper_mode: bool = False,
) -> dict:
    """Loss, latency, memory and per-operator breakdown of one architecture on a device
    (``colaw eval``; the same JSON as a dict).

    ``hardware`` is a name under ``models/hardware/`` or a file; ``prompt`` and ``gen`` are
    tokens per sequence; ``engine`` (with ``weight_format``/``kv_cache_type``) runs the design
    as that engine stores it; ``law=None`` leaves the loss out.
    """
    setup = _setup(
        hardware,
        batch=batch,
        prompt=prompt,
        gen=gen,
        weight_dtype=weight_dtype,
        kv_dtype=kv_dtype,
        compute_dtype=compute_dtype,
        engine=engine,
        weight_format=weight_format,
        kv_cache_type=kv_cache_type,
        law=law,
        tokens=tokens,
        paper_mode=paper_mode,
    )
    return json.loads(_colaw.evaluate_json(*_arch(arch), setup))


def evaluate_many(
    designs: Union[pd.DataFrame, Mapping[str, Sequence]],
    hardware: str,
    *,
    batch: int = 1,
    prompt: int = 1024,
    gen: int = 16,
    weight_dtype: str = "bf16",
    kv_dtype: str = "bf16",
    compute_dtype: str = "bf16",
    engine: Optional[str] = None,
    weight_format: Optional[str] = None,
    kv_cache_type: Optional[str] = None,
    law: Optional[str] = "paper",
    tokens: Optional[float] = None,
    paper_mode: bool = False,
) -> pd.DataFrame:
    """Evaluate every row of a design table at once (vectorised :func:`evaluate`).

    ``designs`` has one row per design and the columns ``layers``, ``hidden``, ``heads``,
    ``ffn``, ``vocab`` and optionally ``kv_heads`` (default: heads), ``head_dim`` (default:
    hidden/heads), ``experts``, ``active_experts`` (default 1), ``tied`` and ``qkv_bias``
    (default False); Hugging Face names (``hidden_size``, ``num_hidden_layers`` …) work too.
    Returns a DataFrame with the same index and the columns ``loss`` (NaN without a law),
    ``prefill_ms``, ``decode_ms``, ``tpot_ms``, ``total_ms``, ``weights_bytes``,
    ``kv_cache_bytes``, ``activations_bytes``, ``memory_bytes``, ``params``,
    ``active_params`` and ``fits_memory`` — the values :func:`evaluate` gives for each row.
    Join it to the input with ``designs.join(result)``.

    The work runs in Rust on every core with the GIL released; rows that share a width
    configuration with the row before them share its costs (sort by everything but
    ``layers`` for the fastest sweep).
    """
    frame = designs if isinstance(designs, pd.DataFrame) else pd.DataFrame(designs)
    n = len(frame)
    columns: dict[str, Optional[np.ndarray]] = {}
    for key, names in _DESIGN_COLUMNS.items():
        col = next((c for c in names if c in frame.columns), None)
        if col is None:
            columns[key] = None
            continue
        values = frame[col].to_numpy()
        if values.dtype.kind not in "iub":
            try:
                cast = values.astype(np.int64)
            except (TypeError, ValueError) as e:
                raise ColawError(f"column `{col}`: {e}; must hold integers") from None
            if values.dtype.kind == "f" and not np.array_equal(cast, values):
                bad = int(np.flatnonzero(cast != values)[0])
                raise ColawError(f"row {bad}: field `{col}` = {values[bad]}: must be an integer")
            values = cast
        columns[key] = np.ascontiguousarray(values, dtype=np.int64)
    out_f = np.empty((len(_FLOAT_COLUMNS), n), dtype=np.float64)
    out_i = np.empty((len(_INT_COLUMNS), n), dtype=np.int64)
    setup = _setup(
        hardware,
        batch=batch,
        prompt=prompt,
        gen=gen,
        weight_dtype=weight_dtype,
        kv_dtype=kv_dtype,
        compute_dtype=compute_dtype,
        engine=engine,
        weight_format=weight_format,
        kv_cache_type=kv_cache_type,
        law=law,
        tokens=tokens,
        paper_mode=paper_mode,
    )
    capacity = _colaw.evaluate_table(setup, columns, out_f, out_i)
    # One block per dtype, each a view of the arrays Rust filled (no copy of 10⁶ × 11 values).
    fits = out_f[_FLOAT_COLUMNS.index("memory_bytes")] <= capacity
    return pd.concat(
        [
            pd.DataFrame(out_f.T, columns=_FLOAT_COLUMNS, index=frame.index),
            pd.DataFrame(out_i.T, columns=_INT_COLUMNS, index=frame.index),
            pd.DataFrame({"fits_memory": fits}, index=frame.index),
        ],
        axis=1,
    )


def _csv_path(data: Union[str, os.PathLike, pd.DataFrame], stack: list) -> str:
    """A path to give the Rust side: the file itself, or a DataFrame written to a temp CSV."""
    if isinstance(data, pd.DataFrame):
        f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
        stack.append(f.name)
        data.to_csv(f, index=False)
        f.close()
        return f.name
    return os.fspath(data)


def _cleanup(stack: list) -> None:
    for p in stack:
        try:
            os.unlink(p)
        except OSError:
            pass


def predict(
    measurements: Union[str, os.PathLike, pd.DataFrame],
    hardware: str,
    *,
    engine: Optional[str] = None,
    weight_format: Optional[str] = None,
    kv_cache_type: Optional[str] = None,
) -> pd.DataFrame:
    """Predicted latency of every row of a measurement table (``colaw predict``).

    ``measurements`` is a CSV file or a DataFrame with the measurement columns
    (``hidden, layers, heads, kv_heads, head_dim, ffn, vocab, tied, phase, batch, tokens`` and
    the optional ones of README "Measurement CSV"). Returns the table with a ``predicted_ms``
    column added.
    """
    stack: list = []
    try:
        path = _csv_path(measurements, stack)
        ms = _colaw.predict(path, os.fspath(hardware), engine, weight_format, kv_cache_type)
        frame = measurements.copy() if isinstance(measurements, pd.DataFrame) else pd.read_csv(path)
    finally:
        _cleanup(stack)
    frame["predicted_ms"] = ms
    return frame


class DesignView(dict):
    """What an objective term sees of a design: a dict whose keys also read as attributes.

    Keys: ``label``, the architecture fields (``layers``, ``hidden``, ``heads``, ``kv_heads``,
    ``head_dim``, ``ffn``, ``experts``, ``active_experts``, ``vocab``, ``tied``,
    ``qkv_bias``), ``weight_dtype``, ``kv_dtype``, ``params``, ``active_params``, the first
    scenario's ``prefill_ms``, ``decode_ms``, ``tpot_ms``, ``total_ms``, ``weights_bytes``,
    ``kv_cache_bytes``, ``activations_bytes``, ``memory_bytes``, and ``scenarios`` (the same
    metrics per scenario, instance order).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Term:
    """A custom objective term: ``objective = loss + Σ terms``.

    ``func(design: DesignView) -> float`` is called per design; with ``batched=True``,
    ``func(designs: DataFrame) -> array`` gets one row per design (the DesignView keys as
    columns, ``scenarios`` left out) and returns one value per row, which is much cheaper
    for many designs. ``lower_bound`` (a value no design goes below) lets enumeration prune.
    A term has no linear-in-depth split, so it needs the ``enum`` or ``mip-assign`` solver
    (``auto`` picks one).
    """

    def __init__(
        self,
        func: Callable[[Any], Any],
        name: Optional[str] = None,
        *,
        batched: bool = False,
        lower_bound: float = float("-inf"),
    ) -> None:
        self.func = func
        self.name = name or getattr(func, "__name__", "python_term")
        self.batched = batched
        self.lower_bound = float(lower_bound)

    def _callback(self) -> Callable[[str], list]:
        func = self.func
        if self.batched:

            def call(text: str) -> list:
                records = json.loads(text)
                frame = pd.DataFrame([{k: v for k, v in r.items() if k != "scenarios"} for r in records])
                return [float(x) for x in np.asarray(func(frame), dtype=float).reshape(-1)]

        else:

            def call(text: str) -> list:
                return [float(func(DesignView(r))) for r in json.loads(text)]

        return call

    def __repr__(self) -> str:
        return f"Term({self.name!r}, batched={self.batched})"


class Result:
    """The result of :func:`solve`.

    ``status`` (``optimal``, ``feasible``, ``infeasible`` …), ``objective``, ``loss``,
    ``design`` (the best design: its architecture fields, ``label``, ``weight_dtype``,
    ``kv_dtype``, ``params``; None when nothing is feasible), ``designs`` (all returned, best
    first), ``metrics`` (per scenario name: ``latency_ms``, ``memory_bytes`` and the budget
    checks) and ``message``. ``to_dict()`` is ``colaw solve``'s JSON; ``to_hf_config(dir)``
    writes the design as a transformers ``config.json``.
    """

    def __init__(self, solution: dict, configs: list) -> None:
        self._solution = solution
        self._configs = configs
        self.status: str = solution["status"]
        self.objective: Optional[float] = solution.get("objective")
        self.loss: Optional[float] = solution.get("loss")
        self.message: str = solution.get("message", "")
        self.designs: list = [self._design(d) for d in solution.get("designs", [])]
        self.design: Optional[dict] = self.designs[0] if self.designs else None
        self.metrics: dict = {
            s["name"]: {k: s[k] for k in ("hardware", "latency_ms", "memory_bytes", "budgets")}
            for s in solution.get("scenarios", [])
        }

    @staticmethod
    def _design(d: dict) -> dict:
        out = {"label": d["label"]}
        out.update({k: v for k, v in d["arch"].items() if k != "name"})
        out.update(
            weight_dtype=d["weight_dtype"],
            kv_dtype=d["kv_dtype"],
            params=d["params"]["total"],
            active_params=d["params"]["active"],
            loss=d["loss"],
            objective=d["objective"],
        )
        return out

    def to_dict(self) -> dict:
        """``colaw solve``'s JSON output, as a dict."""
        return json.loads(json.dumps(self._solution))

    def to_hf_config(self, dir: Optional[Union[str, os.PathLike]] = None, *, rank: int = 1) -> dict:
        """The design (``rank``-th best) as a Hugging Face transformers config: Llama or Qwen2
        for a dense design, Mixtral for a mixture of experts (tied embeddings, GQA, head_dim,
        vocabulary and RoPE settings included). With ``dir``, writes ``dir/config.json``, which
        ``transformers.AutoConfig.from_pretrained(dir)`` loads and ``colaw params`` counts as
        the design. Returns the config dict. A mixture of experts with Q/K/V biases raises
        :class:`ColawError`: no transformers family holds it with the same parameter count
        (Mixtral has no attention biases; Qwen2-MoE always adds a shared expert and its gate).
        """
        if not 1 <= rank <= len(self._configs):
            raise ColawError(f"rank {rank}: the solve returned {len(self._configs)} design(s) ({self.message})")
        entry = self._configs[rank - 1]
        if "error" in entry:
            raise ColawError(entry["error"])
        config = entry["config"]
        if dir is not None:
            _write_config(dir, config)
        return config

    def __repr__(self) -> str:
        label = self.design["label"] if self.design else None
        return f"Result(status={self.status!r}, design={label!r}, objective={self.objective!r})"


def _write_config(dir: Union[str, os.PathLike], config: dict) -> Path:
    path = Path(dir)
    path.mkdir(parents=True, exist_ok=True)
    out = path / "config.json"
    out.write_text(json.dumps(config, indent=2) + "\n")
    return out


def solve(
    instance: InstanceLike,
    *,
    solver: Optional[str] = None,
    top_k: Optional[int] = None,
    time_limit: Optional[float] = None,
    gap: Optional[float] = None,
    threads: Optional[int] = None,
    seed: Optional[int] = None,
    budget_from: Optional[str] = None,
    terms: Iterable[Union[Term, Callable[[Any], Any]]] = (),
) -> Result:
    """The best design of an instance under its budgets, exactly (``colaw solve``).

    ``instance`` is an instance file, TOML text or a dict of the same schema
    (``docs/instances.md``). The keyword arguments override the instance's ``[solver]``
    settings as the command's flags do; ``budget_from`` sets every latency budget to that
    architecture's own value. ``terms`` adds custom objective terms (:class:`Term`, or plain
    callables ``f(design) -> float``).
    """
    kind, text = _instance(instance)
    ts = [t if isinstance(t, Term) else Term(t) for t in terms]
    request = json.dumps(
        {
            "solver": solver,
            "top_k": top_k,
            "time_limit": time_limit,
            "gap": gap,
            "threads": threads,
            "seed": seed,
            "budget_from": budget_from,
        }
    )
    solution, configs = _colaw.solve_json(kind, text, request, [(t.name, t._callback(), t.lower_bound) for t in ts])
    return Result(json.loads(solution), json.loads(configs))


class Fit:
    """A fitted law (:func:`fit`): ``coefficients`` and ``ci95`` (name → value, name →
    (low, high)), ``samples`` (the bootstrap coefficient samples as a DataFrame, the format of
    ``colaw fit --samples``; empty without bootstrap), ``report`` (fit quality and counts) and
    ``law_toml`` (the fitted law file). Pass it as ``samples=`` to :func:`region` or
    :func:`pareto`.
    """

    def __init__(self, outcome: dict) -> None:
        import io

        self.law: str = outcome["law"]
        self.coefficients: dict = outcome["coefficients"]
        self.ci95: dict = {k: tuple(v) for k, v in outcome["ci95"].items()}
        self.stderr: dict = outcome["stderr"]
        text = outcome.get("samples_csv")
        self.samples: pd.DataFrame = pd.read_csv(io.StringIO(text)) if text else pd.DataFrame()
        self.law_toml: str = outcome["law_toml"]
        self.report: dict = {k: v for k, v in outcome.items() if k not in ("samples_csv", "law_toml")}

    def to_law_file(self, path: Union[str, os.PathLike]) -> Path:
        """Write the fitted law file (usable as ``law = "PATH"`` in an instance)."""
        p = Path(path)
        p.write_text(self.law_toml)
        return p

    def __repr__(self) -> str:
        return f"Fit(law={self.law!r}, coefficients={self.coefficients!r})"


def fit(
    data: Union[str, os.PathLike, pd.DataFrame],
    law: str,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    drop_highest: int = 0,
    starts: str = "auto",
    cv_folds: int = 5,
    huber_delta: float = 1e-3,
    map: Optional[str] = None,
) -> Fit:
    """Fit a law's coefficients to observations (``colaw fit``): Huber loss on log loss,
    multi-start L-BFGS, ``bootstrap`` resamples for intervals and samples.

    ``data`` is a CSV file or a DataFrame with a ``loss`` column and a column per law
    variable (``N``, ``D`` …) or the architecture columns; ``law`` a law name under
    ``models/laws/`` or a law file whose form is fitted.
    """
    stack: list = []
    try:
        path = _csv_path(data, stack)
        request = json.dumps(
            {
                "bootstrap": bootstrap,
                "seed": seed,
                "huber_delta": huber_delta,
                "drop_highest": drop_highest,
                "starts": starts,
                "cv_folds": cv_folds,
                "map": map,
            }
        )
        return Fit(json.loads(_colaw.fit_json(path, os.fspath(law), request)))
    finally:
        _cleanup(stack)


def _samples_path(samples: Optional[SamplesLike], stack: list) -> Optional[str]:
    if samples is None:
        return None
    if isinstance(samples, Fit):
        if samples.samples.empty:
            raise ColawError("the fit has no samples: fit it with bootstrap=B (B ≥ 1)")
        samples = samples.samples
    return _csv_path(samples, stack)


def region(
    instance: InstanceLike,
    samples: Optional[SamplesLike] = None,
    *,
    latency_samples: Optional[Union[str, os.PathLike, pd.DataFrame]] = None,
    target_loss: Optional[float] = None,
) -> pd.DataFrame:
    """Uncertainty-aware region (``colaw region``): every design feasible in at least one
    draw, with P(meets every budget), P(loss ≤ target), P(optimal) and the loss quantiles.

    ``samples`` are coefficient samples (a :class:`Fit`, its ``samples`` DataFrame or a CSV
    file); ``latency_samples`` latency-calibration samples. The summary (draws, the
    point-estimate optimum, the design optimal most often, the safest) is in
    ``result.attrs["summary"]``, with row positions of the returned frame.
    """
    stack: list = []
    try:
        kind, text = _instance(instance)
        r = json.loads(
            _colaw.region_json(
                kind,
                text,
                _samples_path(samples, stack),
                None if latency_samples is None else _csv_path(latency_samples, stack),
                target_loss,
            )
        )
    finally:
        _cleanup(stack)
    frame = pd.DataFrame(r.pop("designs"))
    frame.attrs["summary"] = r
    return frame


def pareto(
    instance: InstanceLike,
    x: str = "tpot",
    *,
    scenario: Optional[str] = None,
    points: int = 0,
    solver: str = "auto",
    samples: Optional[SamplesLike] = None,
) -> pd.DataFrame:
    """The exact loss-versus-``x`` Pareto front (``colaw pareto``), one row per design,
    sorted by ``metric`` (the value of ``x``: prefill, decode, tpot, total, memory, params or
    active_params). With ``samples``, ``loss_p05``/``loss_p95`` give a 5–95 % loss band.
    """
    stack: list = []
    try:
        kind, text = _instance(instance)
        pts = json.loads(
            _colaw.pareto_json(kind, text, x, scenario, points, solver, _samples_path(samples, stack))
        )
    finally:
        _cleanup(stack)
    rows = []
    for p in pts:
        arch = {k: v for k, v in p.pop("arch").items() if k != "name"}
        rows.append({**p, **arch})
    return pd.DataFrame(rows)


def run_loop(
    instance: InstanceLike,
    oracle: Callable[[dict], float],
    *,
    data: Union[str, os.PathLike],
    journal: Union[str, os.PathLike],
    init: int = 0,
    rounds: int = 10,
    per_round: int = 4,
    stop_confidence: float = 0.9,
    uncertainty: str = "laplace",
    bootstrap: int = 50,
    samples: int = 200,
    seed: int = 0,
    jobs: int = 1,
    retries: int = 1,
    strategy: str = "mixed",
    starts: int = 200,
) -> dict:
    """The outer loop (``colaw loop``) with a Python oracle: fit → choose → measure → refit
    until the choice is optimal in ≥ ``stop_confidence`` of the coefficient samples.

    ``oracle(design: dict) -> float`` returns the measured loss of a design (its
    architecture fields, storage types and ``key``); an exception or a non-positive value is
    a failed call (retried ``retries`` times, recorded in the journal). ``data`` is the CSV
    of initial observations; when it does not exist, ``init`` designs are measured first.
    The journal folder makes the loop resumable. With ``jobs`` > 1 the oracle is called
    from that many threads at once (a round's designs, or the initial ones, in waves of
    ``jobs``): the GIL is released around the loop and taken only for each call, so an
    oracle that waits on a training process or a GPU overlaps with the others. Returns
    the report (``choice``, ``confidence``, ``stop``, ``rounds``, ``calls`` …).
    """
    kind, text = _instance(instance)

    def call(design_json: str) -> float:
        return float(oracle(json.loads(design_json)))

    request = json.dumps(
        {
            "data": os.fspath(data),
            "journal": os.fspath(journal),
            "init": init,
            "rounds": rounds,
            "per_round": per_round,
            "stop_confidence": stop_confidence,
            "uncertainty": uncertainty,
            "bootstrap": bootstrap,
            "samples": samples,
            "seed": seed,
            "jobs": jobs,
            "retries": retries,
            "strategy": strategy,
            "starts": starts,
        }
    )
    name = getattr(oracle, "__name__", "oracle")
    return json.loads(_colaw.loop_json(kind, text, call, name, request))


def to_hf_config(
    arch: ArchLike,
    dir: Optional[Union[str, os.PathLike]] = None,
    *,
    weight_dtype: str = "bf16",
    max_tokens: int = 0,
    rope_theta: Optional[float] = None,
) -> dict:
    """Any architecture as a Hugging Face transformers config (see
    :meth:`Result.to_hf_config`); ``max_tokens`` sets ``max_position_embeddings`` (the next
    power of two ≥ max(max_tokens, 2048)). With ``dir``, writes ``dir/config.json``.
    """
    config = json.loads(_colaw.hf_config_json(*_arch(arch), weight_dtype, max_tokens, rope_theta))
    if dir is not None:
        _write_config(dir, config)
    return config
