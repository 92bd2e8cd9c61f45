#!/usr/bin/env bash
# Build the pinned llama.cpp (llama-bench, llama-quantize) for measure.py. Idempotent.
#
# Usage: measure/llamacpp/setup.sh [--cuda] [--jobs N] [--no-pip]
#   (default)  CPU build in measure/llamacpp/build/cpu, GGML_NATIVE=ON (tuned to this CPU)
#   --cuda     CUDA build in measure/llamacpp/build/cuda, CMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}
#   --jobs N   parallel compile jobs (default: number of cores)
#   --no-pip   do not pip-install the Python packages (make_gguf.py then uses the gguf-py
#              copy inside the llama.cpp source; numpy must already be installed)
#
# Steps, each skipped when its result is already there:
#   1. pip download of the llama-cpp-python sdist pinned below (it vendors llama.cpp), checked
#      against its sha256;
#   2. prepare_source.sh: the minimal source folder measure/llamacpp/build/llama.cpp (carried to
#      the GPU machine, which has no registry access, instead of the 76 MB sdist);
#   3. cmake configure + build of the two targets only, under `nice -n 19` (NICE= to change);
#   4. pip install gguf==0.19.0 (and with it numpy), the version of gguf-py in that llama.cpp.
# Prints the paths of the two binaries and the pinned version at the end.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
LLAMA_CPP_COMMIT=0c1e57098bba43ac29e6e3b677cdceebdd22334f
GGUF_PY_VERSION=0.19.0

here=$(cd "$(dirname "$0")" && pwd)
build=$here/build
cuda=0
jobs=$(nproc)
pip=1
while [ $# -gt 0 ]; do
    case $1 in
        --cuda) cuda=1 ;;
        --jobs) jobs=$2; shift ;;
        --no-pip) pip=0 ;;
        -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
NICE=${NICE-nice -n 19}
mkdir -p "$build"

src=$build/llama.cpp
if [ -f "$src/COLAW_LLAMACPP_VERSION" ] && grep -q "llama_cpp_commit=$LLAMA_CPP_COMMIT" "$src/COLAW_LLAMACPP_VERSION"; then
    echo "[setup] source: $src already prepared (llama.cpp $LLAMA_CPP_COMMIT)"
else
    sdist=$build/sdist/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz
    if [ ! -f "$sdist" ]; then
        echo "[setup] downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist (76 MB) with pip"
        python3 -m pip download --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
            -d "$build/sdist"
    fi
    got=$(sha256sum "$sdist" | cut -d' ' -f1)
    if [ "$got" != "$SDIST_SHA256" ]; then
        echo "error: $sdist has sha256 $got, the pin is $SDIST_SHA256" >&2
        exit 1
    fi
    "$here/prepare_source.sh" "$sdist" "$src"
    if ! grep -q "llama_cpp_commit=$LLAMA_CPP_COMMIT" "$src/COLAW_LLAMACPP_VERSION"; then
        echo "error: $sdist vendors llama.cpp $(grep commit "$src/COLAW_LLAMACPP_VERSION"), the pin is $LLAMA_CPP_COMMIT" >&2
        exit 1
    fi
fi

if [ "$cuda" = 1 ]; then
    out=$build/cuda
    backend=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}")
else
    out=$build/cpu
    backend=(-DGGML_CUDA=OFF)
fi
bench=$out/bin/llama-bench
quant=$out/bin/llama-quantize
if [ -x "$bench" ] && [ -x "$quant" ] && [ "$(cat "$out/COLAW_BUILT_FROM" 2>/dev/null)" = "$LLAMA_CPP_COMMIT" ]; then
    echo "[setup] build: $out already holds llama-bench and llama-quantize"
else
    command -v cmake > /dev/null || { echo "error: cmake not found (apt-get install cmake)" >&2; exit 1; }
    gen=()
    command -v ninja > /dev/null && gen=(-G Ninja)
    echo "[setup] configuring $out (${backend[*]}, GGML_NATIVE=ON)"
    $NICE cmake -S "$src" -B "$out" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON "${backend[@]}" \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON > "$build/cmake-configure.log" 2>&1 \
        || { tail -30 "$build/cmake-configure.log" >&2; echo "error: cmake configure failed, log $build/cmake-configure.log" >&2; exit 1; }
    echo "[setup] building llama-bench and llama-quantize with $jobs jobs (this takes minutes)"
    start=$(date +%s)
    $NICE cmake --build "$out" --target llama-bench llama-quantize -j "$jobs" > "$build/cmake-build.log" 2>&1 \
        || { tail -30 "$build/cmake-build.log" >&2; echo "error: build failed, log $build/cmake-build.log" >&2; exit 1; }
    echo "$LLAMA_CPP_COMMIT" > "$out/COLAW_BUILT_FROM"
    echo "[setup] built in $(( $(date +%s) - start )) s"
fi

if [ "$pip" = 1 ]; then
    if python3 -c "import gguf, numpy, sys; sys.exit(0 if gguf.__version__ == '$GGUF_PY_VERSION' else 1)" 2> /dev/null \
        || python3 -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('gguf') == '$GGUF_PY_VERSION' else 1)" 2> /dev/null; then
        echo "[setup] python: gguf $GGUF_PY_VERSION and numpy already installed"
    else
        echo "[setup] installing the Python packages make_gguf.py needs: pip install gguf==$GGUF_PY_VERSION (brings numpy)"
        python3 -m pip install "gguf==$GGUF_PY_VERSION"
    fi
fi

cat > "$out/COLAW_LLAMACPP_VERSION" <<VER
$(cat "$src/COLAW_LLAMACPP_VERSION")
backend=$([ "$cuda" = 1 ] && echo "cuda sm_${CUDA_ARCH:-90}" || echo cpu)
compiler=$(${CXX:-c++} --version | head -1)
VER
echo "[setup] ready: $bench"
echo "[setup]        $quant"
echo "[setup] llama.cpp $LLAMA_CPP_COMMIT (llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist)"
