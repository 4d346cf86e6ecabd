#!/usr/bin/env bash
# Build a model with the unspin recipe from any text file, e.g. a tiny one for tests:
#   bash lm/build_model.sh --text sents.txt --out /tmp/tiny.binary --order 3
# Without --text it builds the default model (see build_default.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/build_kenlm.sh" >/dev/null
exec python3 "$here/build.py" "$@"
