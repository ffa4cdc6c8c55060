#!/bin/sh
# tools/install-deps.sh - make sure the Debian packages the build needs are
# present, installing the missing ones with apt-get when run as root.
# The make targets run it first; it is quick when everything is there.
# The CUDA toolkit is not a Debian package here: it is looked for under
# $CUDA_HOME (default /usr/local/cuda) and only reported on, since the build
# needs no GPU and no toolkit (ptxas validates PTX in tests when present,
# NVRTC is loaded at run time).
quiet=0
[ "$1" = "--quiet" ] && quiet=1
say() { [ $quiet = 1 ] || echo "install-deps: $*"; }

missing=""
need() { # need PACKAGE TEST-COMMAND...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
have_llvm() {
    for v in 19 20 21 22; do
        [ -x /usr/lib/llvm-$v/bin/llvm-config ] && [ -f /usr/lib/llvm-$v/lib/libLLVMNVPTXCodeGen.a ] && return 0
    done
    return 1
}
need flex command -v flex
need bison command -v bison
need make command -v make
need gcc command -v cc
need g++ command -v c++
need libcriterion-dev test -f /usr/include/criterion/criterion.h
need llvm-19-dev have_llvm
need zlib1g-dev test -f /usr/include/zlib.h
need libzstd-dev test -f /usr/include/zstd.h
need clang command -v clang
need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: installing:$missing" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 || {
            echo "install-deps: apt-get install$missing failed" >&2; exit 1; }
    else
        echo "install-deps: missing Debian packages:$missing" >&2
        echo "install-deps: run as root: apt-get install$missing" >&2
        exit 1
    fi
fi

cuda=${CUDA_HOME:-/usr/local/cuda}
if [ ! -x "$cuda/bin/ptxas" ]; then
    say "no CUDA toolkit at $cuda (set CUDA_HOME): PTX validation tests will skip;"
    say "get it from NVIDIA's CUDA 12/13 installer for NVRTC and ptxas."
fi
exit 0
