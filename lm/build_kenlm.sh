#!/usr/bin/env bash
# Build KenLM's own tools (lmplz, build_binary, query, interpolate) from the
# kenlm source package on PyPI, into ${UNSPIN_CACHE:-$HOME/.cache/unspin}/kenlm/bin.
#
# Idempotent: when the binaries already exist it does nothing.
# Prints the bin directory on stdout; progress goes to stderr.
#
# Why the PyPI sdist: it is the only KenLM source reachable by package name
# (no GitHub), and version 0.3.0 ships the full tree including lm/builder
# (lmplz) and lm/interpolate, with the top-level CMakeLists.txt.
set -euo pipefail

KENLM_VERSION="${KENLM_VERSION:-0.3.0}"
# sha256 of kenlm-0.3.0.tar.gz as downloaded from PyPI on 2026-11-25
KENLM_SHA256="c4628bb9fb63c8a6f9240035b8b037385cfc404cb72e933cf48878291edac1e8"
CACHE="${UNSPIN_CACHE:-$HOME/.cache/unspin}"
PREFIX="$CACHE/kenlm"
BIN="$PREFIX/bin"
JOBS="${KENLM_JOBS:-2}"

log() { printf 'build_kenlm: %s\n' "$*" >&2; }

need=(lmplz build_binary query)
have_all=1
for b in "${need[@]}"; do [[ -x "$BIN/$b" ]] || have_all=0; done
if [[ $have_all == 1 ]]; then
    echo "$BIN"
    exit 0
fi

# --- build dependencies -------------------------------------------------------
# Debian package -> a file that proves it is installed.
declare -A probe=(
    [libboost-program-options-dev]=/usr/include/boost/program_options.hpp
    [libboost-system-dev]=/usr/lib/x86_64-linux-gnu/libboost_system.so
    [libboost-thread-dev]=/usr/include/boost/thread.hpp
    [libboost-test-dev]=/usr/include/boost/test/unit_test.hpp
    [zlib1g-dev]=/usr/include/zlib.h
    [libbz2-dev]=/usr/include/bzlib.h
    [liblzma-dev]=/usr/include/lzma.h
    [libeigen3-dev]=/usr/include/eigen3/Eigen/Core
    [cmake]=/usr/bin/cmake
    [g++]=/usr/bin/g++
)
missing=()
for pkg in "${!probe[@]}"; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1 && [[ ! -e "${probe[$pkg]}" ]]; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${missing[@]}" >&2 || {
            apt-get update -qq >&2
            apt-get install -y -qq "${missing[@]}" >&2
        }
    else
        log "missing build dependencies: ${missing[*]}; install them (sudo apt-get install ${missing[*]}) and rerun"
        exit 1
    fi
fi

# --- source -------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/unspin-kenlm.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SDIST="$PREFIX/src/kenlm-$KENLM_VERSION.tar.gz"
if [[ ! -s "$SDIST" ]]; then
    mkdir -p "$PREFIX/src"
    log "downloading kenlm==$KENLM_VERSION sdist from PyPI"
    # A scratch venv with setuptools+wheel: pip download still prepares the
    # sdist's metadata, which needs bdist_wheel; --no-build-isolation avoids
    # pip fetching a whole isolated build environment.
    python3 -m venv "$WORK/venv" >&2
    "$WORK/venv/bin/pip" install -q --disable-pip-version-check setuptools wheel >&2
    "$WORK/venv/bin/pip" download -q --disable-pip-version-check --no-deps \
        --no-binary :all: --no-build-isolation -d "$WORK/dl" "kenlm==$KENLM_VERSION" >&2
    mv "$WORK/dl/kenlm-$KENLM_VERSION.tar.gz" "$SDIST"
fi
got="$(sha256sum "$SDIST" | cut -d' ' -f1)"
if [[ "$KENLM_VERSION" == 0.3.0 && "$got" != "$KENLM_SHA256" ]]; then
    log "checksum mismatch for $SDIST ($got); delete it and rerun"
    exit 1
fi
tar -xzf "$SDIST" -C "$WORK"
SRC="$WORK/kenlm-$KENLM_VERSION"
[[ -f "$SRC/CMakeLists.txt" && -d "$SRC/lm/builder" ]] || {
    log "the sdist lacks CMakeLists.txt or lm/builder; cannot build lmplz from it"
    exit 1
}

# --- build --------------------------------------------------------------------
log "compiling with -j$JOBS (a few minutes)"
# KENLM_MAX_ORDER=6 (default) covers order 5 with room to spare.
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
    -DKENLM_MAX_ORDER=6 -DCOMPILE_TESTS=OFF >"$WORK/cmake.log" 2>&1 || {
    cat "$WORK/cmake.log" >&2; exit 1; }
targets=(lmplz build_binary query)
# interpolate only exists when Eigen3 was found
grep -q 'interpolate' "$WORK/build/Makefile" 2>/dev/null && \
    grep -q '^ENABLE_INTERPOLATE:BOOL=ON' "$WORK/build/CMakeCache.txt" && targets+=(interpolate)
cmake --build "$WORK/build" -j "$JOBS" --target "${targets[@]}" >"$WORK/make.log" 2>&1 || {
    tail -50 "$WORK/make.log" >&2; exit 1; }

mkdir -p "$BIN.tmp"
for t in "${targets[@]}"; do install -m 755 "$WORK/build/bin/$t" "$BIN.tmp/$t"; done
rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
printf 'kenlm %s sdist sha256 %s\n' "$KENLM_VERSION" "$got" >"$PREFIX/VERSION"
log "installed ${targets[*]} into $BIN"
echo "$BIN"
