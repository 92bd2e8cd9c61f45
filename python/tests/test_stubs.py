"""The type stubs and docstrings against the package as built: `_colaw.pyi` names every
function of the compiled module with the parameters, kinds and defaults PyO3 reports
(`__text_signature__`), and every public name of `colaw` is documented and fully annotated
(the package's inline annotations are its types; `py.typed` marks them)."""

import ast
import inspect
from pathlib import Path

import pytest

import colaw
from colaw import _colaw

# The checkout's files (what the next install ships), against the module installed from it.
PACKAGE = Path(__file__).resolve().parents[1] / "colaw"
STUB = PACKAGE / "_colaw.pyi"


def _stub():
    """Functions (name → ast.FunctionDef), classes and annotated variables of the stub."""
    tree = ast.parse(STUB.read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    variables = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    return funcs, classes, variables


def _runtime_names():
    return {n for n in dir(_colaw) if not n.startswith("_") or n == "__version__"}


def test_the_stub_names_exactly_what_the_compiled_module_has():
    funcs, classes, variables = _stub()
    assert set(funcs) | classes | variables == _runtime_names()
    for name in funcs:
        assert callable(getattr(_colaw, name)) and not isinstance(getattr(_colaw, name), type), name
    for name in classes:
        assert isinstance(getattr(_colaw, name), type), name


@pytest.mark.parametrize("name", sorted(_stub()[0]))
def test_stub_signature_equals_the_runtime_signature(name):
    stub = _stub()[0][name]
    runtime = inspect.signature(getattr(_colaw, name))
    args = stub.args
    assert not (args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs), name
    names = [a.arg for a in args.args]
    assert names == list(runtime.parameters), name
    defaults = [ast.literal_eval(d) for d in args.defaults]
    expected = [p.default for p in runtime.parameters.values() if p.default is not inspect.Parameter.empty]
    assert defaults == expected, name
    # Every parameter and the result are typed.
    assert all(a.annotation is not None for a in args.args) and stub.returns is not None, name


def test_every_public_name_is_documented_and_typed():
    assert (PACKAGE / "py.typed").exists() and (Path(colaw.__file__).parent / "py.typed").exists()
    for name in colaw.__all__:
        obj = getattr(colaw, name)
        if name == "__version__":
            assert isinstance(obj, str)
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            missing = [p for p, v in sig.parameters.items() if v.annotation is inspect.Parameter.empty]
            assert not missing, f"{name}: parameters {missing} are not annotated"
            assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"
    for cls in (colaw.Result, colaw.Fit):
        for attr, member in vars(cls).items():
            if inspect.isfunction(member) and not attr.startswith("_"):
                assert inspect.getdoc(member), f"{cls.__name__}.{attr} has no docstring"


def test_the_issue_api_surface():
    # The names and keyword arguments the package promises (README "Python", issue 21).
    want = {
        "params": ["arch"],
        "evaluate": ["arch", "hardware", "batch", "prompt", "gen", "weight_dtype"],
        "evaluate_many": ["designs", "hardware", "batch", "prompt", "gen", "weight_dtype"],
        "predict": ["measurements", "hardware"],
        "solve": ["instance", "solver", "top_k", "terms"],
        "fit": ["data", "law", "bootstrap"],
        "region": ["instance", "samples"],
        "pareto": ["instance", "x", "samples"],
        "run_loop": ["instance", "oracle"],
        "to_hf_config": ["arch", "dir"],
    }
    for name, params in want.items():
        sig = inspect.signature(getattr(colaw, name))
        assert set(params) <= set(sig.parameters), (name, sig)
    for attr in ("to_dict", "to_hf_config"):
        assert callable(getattr(colaw.Result, attr))
