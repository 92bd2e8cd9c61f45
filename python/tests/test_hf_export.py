"""Hugging Face export: the dense and the MoE winner of every instance under
instances/paper/ is written as config.json (by result.to_hf_config() and by `colaw solve
--emit-config`), loaded by transformers' AutoConfig (no weights), and counted by colaw as the
design. transformers is a hard requirement here (scripts/setup-python.sh installs it from
PyPI): a missing one fails the suite instead of skipping the round trip."""

import json
import tomllib
from pathlib import Path

import pytest
from transformers import AutoConfig

import colaw

INSTANCES = sorted(Path(__file__).resolve().parents[2].joinpath("instances/paper").glob("*.toml"))


def test_every_paper_instance_is_covered():
    # The parametrised tests below run once per file; an empty glob would pass vacuously.
    assert len(INSTANCES) >= 30


def _restricted(path, moe):
    d = tomllib.loads(path.read_text())
    pairs = d["space"].get("moe", [[1, 1]])
    d["space"]["moe"] = [p for p in pairs if (p[0] > 1) == moe]
    return d if d["space"]["moe"] else None


@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_dense_and_moe_winners_load_in_transformers(path, tmp_path):
    checked = 0
    for moe in (False, True):
        d = _restricted(path, moe)
        if d is None:
            continue
        r = colaw.solve(d, solver="enum")
        if r.design is None:
            continue
        out = tmp_path / ("moe" if moe else "dense")
        config = r.to_hf_config(out)
        hf = AutoConfig.from_pretrained(out)
        assert hf.model_type == ("mixtral" if moe else "llama")
        assert hf.num_hidden_layers == r.design["layers"]
        assert hf.hidden_size == r.design["hidden"]
        assert hf.num_attention_heads == r.design["heads"]
        assert hf.num_key_value_heads == r.design["kv_heads"]
        assert hf.head_dim == r.design["head_dim"]
        assert hf.intermediate_size == r.design["ffn"]
        assert hf.vocab_size == r.design["vocab"]
        assert hf.tie_word_embeddings == r.design["tied_embeddings"]
        if moe:
            assert (hf.num_local_experts, hf.num_experts_per_tok) == (r.design["experts"], r.design["active_experts"])
        assert colaw.params(out / "config.json")["total"] == r.design["params"]
        assert config["colaw"]["label"] == r.design["label"]
        checked += 1
    assert checked == 2


def test_qwen2_for_dense_designs_with_qkv_bias_and_moe_with_bias_refused(tmp_path):
    dense = {"layers": 4, "hidden": 896, "heads": 14, "kv_heads": 2, "head_dim": 64, "ffn": 4864, "vocab": 151936,
             "tied_embeddings": True, "qkv_bias": True}
    colaw.to_hf_config(dense, tmp_path)
    hf = AutoConfig.from_pretrained(tmp_path)
    assert hf.model_type == "qwen2"
    assert colaw.params(tmp_path / "config.json")["total"] == colaw.params(dense)["total"]
    with pytest.raises(colaw.ColawError, match="shared expert"):
        colaw.to_hf_config({**dense, "experts": 8, "active_experts": 2})


@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_emit_config_on_the_command_line_loads_in_transformers(path, tmp_path, colaw_cli):
    # `colaw solve --emit-config DIR --top-k 2`: DIR/config.json and DIR/rank-2/config.json are
    # what result.to_hf_config() gives, transformers loads them, `colaw params` counts the design.
    sol = colaw_cli("solve", path, "--top-k", "2", "--emit-config", tmp_path / "out")
    r = colaw.solve(path, top_k=2)
    assert [d["label"] for d in sol["designs"]] == [d["label"] for d in r.designs]
    assert len(sol["designs"]) == 2
    for k, folder in enumerate([tmp_path / "out", tmp_path / "out" / "rank-2"]):
        written = json.loads((folder / "config.json").read_text())
        assert written == r.to_hf_config(rank=k + 1)
        hf = AutoConfig.from_pretrained(folder)
        assert hf.model_type == ("mixtral" if r.designs[k]["experts"] > 1 else "llama")
        assert hf.num_hidden_layers == r.designs[k]["layers"] and hf.hidden_size == r.designs[k]["hidden"]
        assert colaw_cli("params", folder / "config.json")["total"] == sol["designs"][k]["params"]["total"]
