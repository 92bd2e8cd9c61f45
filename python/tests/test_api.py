"""The Python API against the command line and against hand-checked numbers."""

import json
import threading
import time
import tomllib

import numpy as np
import pandas as pd
import pytest

import colaw

INSTANCE = "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml"


def test_params_of_a_preset_a_dict_and_a_hf_config():
    # Qwen2.5-0.5B's published count (hand-worked in src/architecture/mod.rs).
    assert colaw.params("Qwen2.5-0.5B")["total"] == 494_032_768
    d = {"layers": 2, "hidden": 64, "heads": 4, "ffn": 128, "vocab": 100}
    # 2·100·64 (embedding + head) + 2·(4·64² + 3·64·128 + 2·64) + 64
    assert colaw.params(d)["total"] == 2 * 100 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64
    assert colaw.params("tests/fixtures/hf/mixtral-8x7b.json")["total"] == colaw.params("Mixtral-8x7B")["total"]


def test_errors_are_python_exceptions_with_colaw_message():
    with pytest.raises(colaw.ColawError, match="kv_heads.*3.*divide"):
        colaw.params({"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 3, "ffn": 128, "vocab": 100})
    with pytest.raises(colaw.ColawError, match="no-such-device"):
        colaw.evaluate("Qwen2.5-0.5B", "no-such-device")


def test_evaluate_equals_the_cli(colaw_cli):
    py = colaw.evaluate("Llama-3.2-1B", "jetson-orin-nano-8gb-super", batch=4, prompt=512, gen=64, weight_dtype="int8")
    cli = colaw_cli(
        "eval", "Llama-3.2-1B", "--hardware", "jetson-orin-nano-8gb-super", "--batch", "4", "--prompt", "512",
        "--gen", "64", "--weight-dtype", "int8",
    )
    assert py == cli


def _designs(n, seed=1):
    rng = np.random.default_rng(seed)
    hidden = rng.choice([512, 768, 1024, 2048], n)
    head_dim = rng.choice([64, 128], n)
    heads = hidden // head_dim
    kv = np.array([rng.choice([k for k in (1, 2, 4, h) if h % k == 0]) for h in heads])
    experts = rng.choice([1, 8, 16], n)
    active = np.where(experts > 1, rng.choice([1, 2], n), 1)
    return pd.DataFrame(
        {
            "layers": rng.integers(2, 40, n),
            "hidden": hidden,
            "heads": heads,
            "kv_heads": kv,
            "head_dim": head_dim,
            "ffn": hidden * rng.choice([1, 2, 4], n),
            "experts": experts,
            "active_experts": active,
            "vocab": rng.choice([32000, 151936], n),
            "tied": rng.choice([True, False], n),
            "qkv_bias": rng.choice([True, False], n),
        }
    )


def test_evaluate_many_equals_evaluate_row_by_row():
    df = _designs(60)
    out = colaw.evaluate_many(df, "jetson-agx-orin-64gb", batch=2, prompt=256, gen=32)
    assert list(out.index) == list(df.index)
    for i, r in df.iterrows():
        arch = {k: int(r[k]) for k in ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts",
                                       "active_experts", "vocab")}
        arch.update(tied_embeddings=bool(r["tied"]), qkv_bias=bool(r["qkv_bias"]))
        e = colaw.evaluate(arch, "jetson-agx-orin-64gb", batch=2, prompt=256, gen=32)
        assert out.loc[i, "params"] == e["params"]["total"]
        assert out.loc[i, "active_params"] == e["params"]["active"]
        assert out.loc[i, "loss"] == pytest.approx(e["loss"], rel=1e-12)
        for k in ("prefill", "decode", "tpot", "total"):
            assert out.loc[i, f"{k}_ms"] == pytest.approx(e["latency_ms"][k], rel=1e-12)
        assert out.loc[i, "memory_bytes"] == pytest.approx(e["memory_bytes"]["total"], rel=1e-12)
        assert out.loc[i, "fits_memory"] == e["fits_memory"]


def test_evaluate_many_defaults_hf_names_and_row_errors():
    df = pd.DataFrame({"num_hidden_layers": [4, 8], "hidden_size": [512, 512], "num_attention_heads": [8, 8],
                       "intermediate_size": [1024, 1024], "vocab_size": [1000, 1000]})
    out = colaw.evaluate_many(df, "jetson-orin-nx-16gb", law=None)
    p = [colaw.params({"layers": l, "hidden": 512, "heads": 8, "ffn": 1024, "vocab": 1000})["total"] for l in (4, 8)]
    assert list(out["params"]) == p and out["loss"].isna().all()
    bad = pd.DataFrame({"layers": [4, 4], "hidden": [512, 512], "heads": [8, 8], "kv_heads": [8, 3],
                        "ffn": [1024, 1024], "vocab": [1000, 1000]})
    with pytest.raises(colaw.ColawError, match=r"row 1: kv_heads.*3.*divide"):
        colaw.evaluate_many(bad, "jetson-orin-nx-16gb")
    with pytest.raises(colaw.ColawError, match="`vocab` column"):
        colaw.evaluate_many(bad.drop(columns="vocab"), "jetson-orin-nx-16gb")


def test_predict_equals_the_cli(tmp_path):
    import subprocess
    from conftest import CLI

    rows = pd.read_csv("data/measurements/h100_latency.csv").iloc[::40].reset_index(drop=True)
    out = colaw.predict(rows, "nvidia-h100-sxm")
    rows.to_csv(tmp_path / "m.csv", index=False)
    cli = subprocess.run([str(CLI), "predict", "--hardware", "nvidia-h100-sxm",
                          str(tmp_path / "m.csv")], capture_output=True, text=True, check=True).stdout
    expected = pd.read_csv(__import__("io").StringIO(cli))["predicted_ms"]
    assert len(out) == len(rows) > 10
    # The CLI prints 6 decimals.
    np.testing.assert_allclose(out["predicted_ms"], expected, rtol=0, atol=5e-7)


def test_solve_path_toml_and_dict_agree_with_the_cli(colaw_cli):
    cli = colaw_cli("solve", INSTANCE)
    text = open(INSTANCE).read()
    for src in (INSTANCE, text, tomllib.loads(text)):
        r = colaw.solve(src)
        assert r.status == "optimal"
        assert r.design["label"] == cli["label"]
        assert r.objective == pytest.approx(cli["objective"], rel=1e-12)
        m = r.metrics["jetson-orin-nx-16gb"]
        assert m["latency_ms"]["tpot"] <= 20.0 and all(b["ok"] for b in m["budgets"])
    assert r.to_dict()["designs"][0]["params"] == cli["designs"][0]["params"]
    assert r.design["params"] == cli["params"]["total"]


def test_solve_errors_and_infeasible():
    with pytest.raises(colaw.ColawError, match="no-such-instance.toml"):
        colaw.solve("instances/no-such-instance.toml")
    d = tomllib.loads(open(INSTANCE).read())
    d["scenario"][0]["budget"]["tpot_ms"] = 0.01
    r = colaw.solve(d)
    assert r.status == "infeasible" and r.design is None and "tpot" in r.message
    with pytest.raises(colaw.ColawError, match="0 design"):
        r.to_hf_config()


def _kv_instance():
    d = tomllib.loads(open(INSTANCE).read())
    d["space"]["layers"] = {"from": 4, "to": 16, "step": 4}
    d["space"]["hidden"] = [768, 1024, 1536]
    return d


def test_python_term_matches_the_builtin_term_in_enum_and_mip_assign():
    # weight × KV-cache GB: the built-in `kv_cache` term (with a depth split) against the
    # same term as a Python callable, per design and batched.
    weight = 0.5
    builtin = _kv_instance()
    builtin["objective"] = {"term": [{"kind": "kv_cache", "weight": weight}]}
    ref = colaw.solve(builtin, solver="enum", top_k=3)
    calls = []

    def kv(d):
        calls.append(1)
        return weight * d.kv_cache_bytes / 1e9

    def kv_batched(frame):
        calls.append(len(frame))
        return weight * frame["kv_cache_bytes"].to_numpy() / 1e9

    for solver in ("enum", "mip-assign"):
        for term in (colaw.Term(kv), colaw.Term(kv_batched, "kv", batched=True)):
            r = colaw.solve(_kv_instance(), solver=solver, top_k=3, terms=[term])
            assert [d["label"] for d in r.designs] == [d["label"] for d in ref.designs], (solver, term)
            assert r.objective == pytest.approx(ref.objective, rel=1e-12)
            assert r.to_dict()["terms"][0]["value"] == pytest.approx(ref.to_dict()["terms"][0]["value"], rel=1e-12)
    # Batched: one call per width configuration (all its feasible depths), not per design.
    calls.clear()
    colaw.solve(_kv_instance(), solver="enum", terms=[colaw.Term(kv_batched, batched=True)])
    assert sum(calls) >= 3 * len(calls)


def test_term_called_from_solver_threads_and_exceptions_propagate():
    # threads=2: the enumeration calls the term from worker threads, which only works
    # because the GIL is released around the solve.
    seen = set()

    def term(d):
        seen.add(threading.get_ident())
        return 0.0

    r = colaw.solve(_kv_instance(), solver="enum", threads=2, terms=[term])
    assert r.status == "optimal" and seen

    def broken(d):
        raise ValueError("term exploded")

    with pytest.raises(ValueError, match="term exploded"):
        colaw.solve(_kv_instance(), solver="enum", terms=[broken])


def test_fit_chinchilla_and_use_its_samples():
    f = colaw.fit("data/chinchilla/chinchilla_epoch.csv", "chinchilla", drop_highest=5, bootstrap=16, cv_folds=0)
    # README's replication: E 1.8172, α 0.3473, β 0.3672 (same data, same method).
    c = f.coefficients
    assert c["E"] == pytest.approx(1.8172, abs=2e-3)
    assert c["alpha"] == pytest.approx(0.3473, abs=2e-3) and c["beta"] == pytest.approx(0.3672, abs=2e-3)
    assert len(f.samples) == 16 and {"E", "A", "B", "alpha", "beta"} <= set(f.samples.columns)
    lo, hi = f.ci95["alpha"]
    assert lo <= hi
    assert f.report["n"] == 240


def test_fit_weights_seeds_and_tests_lack_of_fit_like_the_cli(tmp_path, colaw_cli):
    # Rows of 3 seeds each (loss_sd) from A·N^-alpha with a 3 % wiggle the form cannot follow:
    # the Python fit weights them by their noise as `colaw fit` does (same coefficients), and
    # both report the lack-of-fit test and its law_misfit warning.
    law = tmp_path / "one-term.toml"
    law.write_text('name = "one-term"\n[coefficients]\nA = 20.0\nalpha = 0.1\n[form]\n[[form.terms]]\n'
                   'coef = "A"\npow = { params = "-alpha" }\n')
    rng = np.random.default_rng(3)
    n = 1e7 * 10 ** np.linspace(0, 4, 24)
    truth = 20 * n ** -0.1 * (1 + 0.03 * np.sin(np.log(n)))
    seeds = truth[:, None] * np.exp(rng.normal(0, 0.01, (24, 3)))
    rows = pd.DataFrame({"params": n, "loss": seeds.mean(1), "loss_sd": seeds.std(1, ddof=1), "seeds": 3})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    py = colaw.fit(tmp_path / "rows.csv", law, cv_folds=0)
    cli = colaw_cli("fit", tmp_path / "rows.csv", "--law", law, "--cv-folds", "0")
    for k, v in cli["coefficients"].items():
        assert py.coefficients[k] == pytest.approx(v, rel=1e-9)
    lof = py.report["lack_of_fit"]
    assert lof == pytest.approx(cli["lack_of_fit"], rel=1e-9)
    assert (lof["df_fit"], lof["df_pure"]) == (22, 48) and lof["p_value"] < 0.01
    assert "law_misfit" in [w["code"] for w in py.report["warnings"]]


def test_region_and_pareto_with_samples(tmp_path):
    d = _kv_instance()
    paper = colaw.fit(pd.DataFrame(_paper_rows()), "paper", bootstrap=8, cv_folds=0, starts="lhs:20")
    reg = colaw.region(d, paper)
    assert {"label", "p_feasible", "p_optimal"} <= set(reg.columns)
    assert reg["p_optimal"].sum() == pytest.approx(1.0 - reg.attrs["summary"]["infeasible_draws"] / reg.attrs["summary"]["draws"], abs=1e-9)
    front = colaw.pareto(d, "tpot", samples=paper)
    assert list(front["metric"]) == sorted(front["metric"])
    assert (np.diff(front["loss"]) < 0).all()
    assert (front["loss_p05"] <= front["loss_p95"]).all()
    best = colaw.solve(d)
    assert front["loss"].iloc[-1] == pytest.approx(best.loss, rel=1e-12)


def _paper_rows():
    """Synthetic observations of the paper law over a small grid (what the loop's data file holds)."""
    rows = []
    for layers in (4, 8, 12, 16, 24):
        for hidden, kv in ((512, 1), (768, 2), (1024, 4), (1536, 2)):
            for r, (e, k) in ((1, (1, 1)), (2, (8, 1)), (4, (16, 2)), (0.5, (8, 2))):
                arch = {"layers": layers, "hidden": hidden, "heads": hidden // 64, "kv_heads": kv, "head_dim": 64,
                        "ffn": int(r * hidden), "experts": e, "active_experts": k, "vocab": 151936,
                        "tied_embeddings": True}
                loss = colaw.evaluate(arch, "jetson-orin-nx-16gb")["loss"]
                rows.append({**{k2: v for k2, v in arch.items() if k2 != "tied_embeddings"}, "tied": True,
                             "loss": loss})
    return rows


def test_loop_with_a_python_oracle_equals_the_synthetic_oracle(tmp_path, colaw_cli):
    # The Python oracle returns the noise-free paper law, as `synthetic:paper` does: the two
    # loops must ask the same designs and end on the same choice.
    calls = []

    def oracle(design):
        calls.append(design["key"])
        arch = {k: design[k] for k in ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts",
                                       "active_experts", "vocab", "qkv_bias")}
        arch["tied_embeddings"] = design["tied"]
        return colaw.evaluate(arch, "jetson-orin-nx-16gb")["loss"]

    kw = dict(init=12, rounds=2, per_round=2, samples=40, starts=20, seed=3)
    py = colaw.run_loop(INSTANCE, oracle, data=tmp_path / "py.csv", journal=tmp_path / "py", **kw)
    cli = colaw_cli("loop", "--instance", INSTANCE, "--oracle", "synthetic:paper", "--data", tmp_path / "cli.csv",
                    "--journal", tmp_path / "cli", "--init", "12", "--rounds", "2", "--per-round", "2",
                    "--samples", "40", "--starts", "20", "--seed", "3")
    assert py["choice"]["key"] == cli["choice"]["key"]
    assert py["calls"] == cli["calls"] == len(calls)
    assert open(tmp_path / "py.csv").read().splitlines()[1:] == open(tmp_path / "cli.csv").read().splitlines()[1:]


def test_oracle_jobs_run_concurrently(tmp_path):
    # jobs=2: the loop calls the oracle from two worker threads at once (the GIL is released
    # around the loop and re-taken per call), so an oracle that waits (a training run, a
    # subprocess, here a sleep) overlaps with the other; 12 initial designs take 6 waves.
    spans = []
    lock = threading.Lock()

    def oracle(design):
        t0 = time.perf_counter()
        time.sleep(0.1)
        with lock:
            spans.append((t0, time.perf_counter(), threading.get_ident()))
        arch = {k: design[k] for k in ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts",
                                       "active_experts", "vocab", "qkv_bias")}
        arch["tied_embeddings"] = design["tied"]
        return colaw.evaluate(arch, "jetson-orin-nx-16gb")["loss"]

    colaw.run_loop(INSTANCE, oracle, data=tmp_path / "d.csv", journal=tmp_path / "j", init=12, rounds=0, jobs=2,
                   samples=20, starts=10)
    assert len(spans) >= 12 and len({t for _, _, t in spans}) == 2
    overlapping = sum(1 for i, a in enumerate(spans) for b in spans[i + 1:] if a[0] < b[1] and b[0] < a[1])
    assert overlapping >= 5
