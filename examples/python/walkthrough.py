# %% [markdown]
# # colaw from Python: fit, choose, plot, export
#
# A notebook-style walk through the Python package (cells marked `# %%` open as a notebook
# in VS Code or Jupytext). Run it as a script from the repository root:
#
#     python examples/python/walkthrough.py --out walkthrough/
#
# 1. fit the Chinchilla law to Epoch AI's extraction of Hoffmann et al.'s runs, with
#    bootstrap intervals;
# 2. solve the default instance (the paper's Table 5 space on a Jetson Orin NX 16GB under a
#    20 ms/token budget);
# 3. trace the exact loss-versus-TPOT Pareto front and plot it with matplotlib;
# 4. export the winner as a Hugging Face transformers config.json.

# %%
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import colaw  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", default="walkthrough", help="folder for the figure and the config")
parser.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples of the fit")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. Fit the Chinchilla law
# 240 runs after dropping the 5 highest losses, as in the README's replication table.

# %%
runs = pd.read_csv("data/chinchilla/chinchilla_epoch.csv")
fit = colaw.fit(runs, "chinchilla", drop_highest=5, bootstrap=args.bootstrap, cv_folds=0)
table = pd.DataFrame(
    {
        "value": fit.coefficients,
        "ci95_low": {k: v[0] for k, v in fit.ci95.items()},
        "ci95_high": {k: v[1] for k, v in fit.ci95.items()},
    }
)
print(table.round(4).to_string())
print(f"{len(fit.samples)} bootstrap samples, R² = {fit.report['r2']:.4f}")

# %% [markdown]
# ## 2. Solve the default instance

# %%
instance = "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml"
result = colaw.solve(instance)
print(result)
for name, m in result.metrics.items():
    print(f"{name}: TPOT {m['latency_ms']['tpot']:.2f} ms, memory {m['memory_bytes']['total'] / 1e9:.2f} GB")

# %% [markdown]
# ## 3. The exact Pareto front of loss against TPOT

# %%
front = colaw.pareto(instance, "tpot")
moe = front["experts"] > 1
fig, ax = plt.subplots(figsize=(6, 4))
ax.step(front["metric"], front["loss"], where="post", color="0.7", zorder=1)
ax.scatter(front.loc[moe, "metric"], front.loc[moe, "loss"], s=12, label="MoE")
ax.scatter(front.loc[~moe, "metric"], front.loc[~moe, "loss"], s=12, marker="s", label="dense")
ax.axvline(20.0, ls="--", color="k", lw=0.8, label="budget 20 ms")
ax.scatter([result.metrics["jetson-orin-nx-16gb"]["latency_ms"]["tpot"]], [result.loss], s=80,
           facecolors="none", edgecolors="r", label=result.design["label"].split("-V")[0])
ax.set_xscale("log")
ax.set_xlabel("TPOT (ms), Jetson Orin NX 16GB")
ax.set_ylabel("predicted loss (paper law)")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(out / "pareto.png", dpi=120)
print(f"front: {len(front)} designs, {moe.mean():.0%} MoE; figure {out / 'pareto.png'}")

# %% [markdown]
# ## 4. Export the winner for transformers

# %%
config = result.to_hf_config(out / "winner")
print(f"{out / 'winner' / 'config.json'}: {config['architectures'][0]}, "
      f"{config['num_hidden_layers']} layers, {config.get('num_local_experts', 1)} experts")
assert colaw.params(out / "winner" / "config.json")["total"] == result.design["params"]
try:
    from transformers import AutoConfig
except ImportError:  # transformers is optional for the package
    AutoConfig = None
if AutoConfig is not None:
    hf = AutoConfig.from_pretrained(out / "winner")
    print(f"transformers loads it as {type(hf).__name__}")
