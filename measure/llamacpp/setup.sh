#!/usr/bin/env bash
# Build the pinned llama.cpp (llama-bench, llama-quantize) for measure.py. Idempotent.
#
# Usage: measure/llamacpp/setup.sh [--cuda] [--jobs N] [--no-pip]
#   (default)  CPU build in measure/llamacpp/target/cpu, GGML_NATIVE=ON (tuned to this CPU)
#   --cuda     CUDA build in measure/llamacpp/target/cuda, CMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}
#   --jobs N   parallel compile jobs (default: number of cores)
#   --no-amx   CPU build with this CPU's instruction sets spelled out (AVX2, AVX-512 F/VBMI/VNNI/BF16,
#              AVX-VNNI, FMA, F16C, BMI2) instead of GGML_NATIVE, leaving out AMX. Needed on the
#              2-core KVM guest this data was taken on: with AMX compiled in (GGML_NATIVE picks it
#              up from -march=native), every Q8_0/Q4_0 prefill there ends in a segmentation fault
#              inside the AMX repacked matmul. Auto-selected when /proc/cpuinfo lists amx_int8
#              unless --native is given.
#   --native   GGML_NATIVE=ON even on an AMX CPU
#   LLAMACPP_BUILD_DIR=DIR  build there instead (gpu_run.sh: outside the carried folder, so
#              that a second call, which replaces the carried folder, keeps the build)
#   --no-pip   do not pip-install the Python packages (make_gguf.py then uses the gguf-py
#              copy inside the llama.cpp source; numpy must already be installed)
#
# Steps, each skipped when its result is already there:
#   1. pip download of the llama-cpp-python sdist pinned below (it vendors llama.cpp), checked
#      against its sha256;
#   2. prepare_source.sh: the minimal source folder measure/llamacpp/target/llama.cpp (carried to
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
# Everything lives under target/ (git-ignored; the repository's path test skips folders so named).
build=$here/target
cuda=0
jobs=$(nproc)
pip=1
amx=auto
while [ $# -gt 0 ]; do
    case $1 in
        --cuda) cuda=1 ;;
        --jobs) jobs=$2; shift ;;
        --no-pip) pip=0 ;;
        --no-amx) amx=off ;;
        --native) amx=native ;;
        -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
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
    out=${LLAMACPP_BUILD_DIR:-$build/cuda}
    backend=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}" -DGGML_NATIVE=ON)
else
    out=${LLAMACPP_BUILD_DIR:-$build/cpu}
    backend=(-DGGML_CUDA=OFF -DGGML_NATIVE=ON)
    if [ "$amx" = off ] || { [ "$amx" = auto ] && grep -qw amx_int8 /proc/cpuinfo; }; then
        isa=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
             -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON
             -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
        for f in avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni avx512_bf16 avx_vnni; do
            grep -qw "$f" /proc/cpuinfo || { echo "error: --no-amx spells out $f, which this CPU lacks; use --native" >&2; exit 1; }
        done
        backend=(-DGGML_CUDA=OFF "${isa[@]}")
        echo "[setup] AMX CPU: building with explicit AVX-512 flags and without AMX (see --help)"
    fi
fi
bench=$out/bin/llama-bench
quant=$out/bin/llama-quantize
stamp="$LLAMA_CPP_COMMIT ${backend[*]}"
if [ -x "$bench" ] && [ -x "$quant" ] && [ "$(cat "$out/COLAW_BUILT_FROM" 2>/dev/null)" = "$stamp" ]; then
    echo "[setup] build: $out already holds llama-bench and llama-quantize"
else
    command -v cmake > /dev/null || { echo "error: cmake not found (apt-get install cmake)" >&2; exit 1; }
    gen=()
    command -v ninja > /dev/null && gen=(-G Ninja)
    echo "[setup] configuring $out (${backend[*]})"
    # GIT_EXECUTABLE=false: the source folder has no git history of its own, and llama.cpp's
    # build-info would otherwise stamp the binaries with the commit of the enclosing (colaw)
    # repository. The pinned commit is in COLAW_LLAMACPP_VERSION instead.
    $NICE cmake -S "$src" -B "$out" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGIT_EXECUTABLE="$(command -v false)" "${backend[@]}" \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON > "$build/cmake-configure.log" 2>&1 \
        || { tail -30 "$build/cmake-configure.log" >&2; echo "error: cmake configure failed, log $build/cmake-configure.log" >&2; exit 1; }
    echo "[setup] building llama-bench and llama-quantize with $jobs jobs (this takes minutes)"
    start=$(date +%s)
    $NICE cmake --build "$out" --target llama-bench llama-quantize -j "$jobs" > "$build/cmake-build.log" 2>&1 \
        || { tail -30 "$build/cmake-build.log" >&2; echo "error: build failed, log $build/cmake-build.log" >&2; exit 1; }
    echo "$stamp" > "$out/COLAW_BUILT_FROM"
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
cmake_flags=${backend[*]}
compiler=$(${CXX:-c++} --version | head -1)
VER
echo "[setup] ready: $bench"
echo "[setup]        $quant"
echo "[setup] llama.cpp $LLAMA_CPP_COMMIT (llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist)"
