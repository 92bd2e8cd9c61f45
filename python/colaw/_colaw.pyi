"""Type stubs of the compiled glue (python/src/lib.rs). Use the functions of the `colaw`
package instead: they take dicts and DataFrames and return them; these take and return JSON
text and numpy buffers."""

from typing import Any, Callable, Optional, Sequence

import numpy as np

__version__: str
TABLE_COLUMNS: list[str]

class ColawError(Exception):
    """An error reported by colaw (its message names the file, field and value)."""

def params_json(arch: str, is_json: bool) -> str: ...
def evaluate_json(arch: str, is_json: bool, setup: str) -> str: ...
def evaluate_table(
    setup: str,
    columns: dict[str, Optional[np.ndarray]],
    out_f: np.ndarray,
    out_i: np.ndarray,
) -> float: ...
def predict(
    measurements: str,
    hardware: str,
    engine: Optional[str] = None,
    weight_format: Optional[str] = None,
    kv_cache_type: Optional[str] = None,
) -> list[float]: ...
def fit_json(data: str, law: str, request: str) -> str: ...
def solve_json(
    kind: str,
    source: str,
    request: str,
    terms: Sequence[tuple[str, Callable[[str], list[float]], float]],
) -> tuple[str, str]: ...
def hf_config_json(
    arch: str,
    is_json: bool,
    weight_dtype: str = "bf16",
    max_tokens: int = 0,
    rope_theta: Optional[float] = None,
) -> str: ...
def region_json(
    kind: str,
    source: str,
    samples: Optional[str] = None,
    latency_samples: Optional[str] = None,
    target_loss: Optional[float] = None,
) -> str: ...
def pareto_json(
    kind: str,
    source: str,
    x: str,
    scenario: Optional[str] = None,
    points: int = 0,
    solver: str = "auto",
    samples: Optional[str] = None,
) -> str: ...
def loop_json(kind: str, source: str, oracle: Callable[[str], float], name: str, request: str) -> str: ...
