#!/usr/bin/env bash
# The one entry point: build KenLM's tools (once) and the default models (once: the main
# model and the news model), then print their paths. Idempotent: a second run only relinks (<1 s).
#   bash lm/build_default.sh
# Environment: UNSPIN_CACHE (default ~/.cache/unspin), SHARED (default <repo>/../shared).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/build_kenlm.sh" >/dev/null
exec python3 "$here/build.py" "$@"
