#!/usr/bin/env python3
"""The Chinchilla fit of Epoch AI (Besiroglu et al. 2024) in Python, timed next to `cargo bench
--bench fit` (see docs/fitting.md).

Method (as Epoch's analysis): drop the 5 highest-loss runs (240 rows), fit
log L = LSE(a - alpha log N, b - beta log D, e) with a Huber loss (delta = 1e-3, summed) on
log-loss residuals by scipy's L-BFGS-B from Epoch's 4,500-point grid (a, b in {0..25 step 5},
e in {-1..1 step 0.5}, alpha, beta in {0..2 step 0.5}), keep the best; then B bootstrap
resamples (rows with replacement), each refitted from the best fit.

The gradient is analytic (jac=True), which is faster than Epoch's finite differences.
--tol scipy keeps scipy's default stopping rule (as Epoch); --tol tight uses colaw's
(objective change < 1e-15, gradient < 1e-10) so both reach the optimum to the same precision.

    pip install numpy scipy
    python3 benches/fit_scipy.py [--bootstrap 1000] [--tol tight|scipy]
"""
import argparse
import itertools
import json
import os
import time

import numpy as np
from scipy.optimize import minimize

DELTA = 1e-3


def load(path):
    d = np.genfromtxt(path, delimiter=",", names=True)
    order = np.argsort(-d["loss"], kind="stable")
    keep = np.sort(order[5:])
    d = d[keep]
    return np.log(d["N"]), np.log(d["D"]), np.log(d["loss"])


def objective(p, lnN, lnD, y, w):
    a, b, e, alpha, beta = p
    z = np.stack([a - alpha * lnN, b - beta * lnD, np.full_like(lnN, e)])
    m = z.max(axis=0)
    ez = np.exp(z - m)
    s = ez.sum(axis=0)
    lp = m + np.log(s)
    r = lp - y
    ar = np.abs(r)
    h = np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA))
    psi = np.clip(r, -DELTA, DELTA) * w
    sm = ez / s
    g = np.array([
        (psi * sm[0]).sum(),
        (psi * sm[1]).sum(),
        (psi * sm[2]).sum(),
        -(psi * sm[0] * lnN).sum(),
        -(psi * sm[1] * lnD).sum(),
    ])
    return (w * h).sum(), g


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "data", "chinchilla", "chinchilla_epoch.csv"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--tol", choices=["tight", "scipy"], default="tight")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    options = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000} if args.tol == "tight" else {}
    lnN, lnD, y = load(args.data)
    w = np.ones_like(y)

    c0 = time.process_time()
    t0 = time.perf_counter()
    grid = itertools.product(np.arange(0, 30, 5), np.arange(0, 30, 5), np.arange(-1, 1.5, 0.5),
                             np.arange(0, 2.5, 0.5), np.arange(0, 2.5, 0.5))
    best = None
    for p0 in grid:
        r = minimize(objective, np.array(p0, float), args=(lnN, lnD, y, w), jac=True, method="L-BFGS-B",
                     options=options)
        if best is None or r.fun < best.fun:
            best = r
    t_fit = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    n = len(y)
    samples = []
    t1 = time.perf_counter()
    for _ in range(args.bootstrap):
        c = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        r = minimize(objective, best.x, args=(lnN, lnD, y, c), jac=True, method="L-BFGS-B", options=options)
        samples.append(r.x)
    t_boot = time.perf_counter() - t1
    cpu = time.process_time() - c0

    def nat(p):
        return {"A": float(np.exp(p[0])), "B": float(np.exp(p[1])), "E": float(np.exp(p[2])),
                "alpha": float(p[3]), "beta": float(p[4])}

    out = {"n": int(n), "tol": args.tol, "coefficients": nat(best.x), "objective": float(best.fun),
           "fit_s": t_fit, "bootstrap": args.bootstrap, "bootstrap_s": t_boot, "total_s": t_fit + t_boot, "cpu_s": cpu}
    if samples:
        s = np.array([list(nat(p).values()) for p in samples])
        out["ci95"] = {k: [float(np.percentile(s[:, i], 2.5)), float(np.percentile(s[:, i], 97.5))]
                       for i, k in enumerate(nat(best.x))}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
