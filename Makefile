# unspin: `make demo` and `make test` do all the set-up they need, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)
export SHARED
export UNSPIN_CACHE ?= $(HOME)/.cache/unspin

.PHONY: setup demo test fuzz lm lexicon venv lint clean bench calibrate eval browser java lock

setup: venv lm lexicon java
	@echo "ready: $(BIN)/unspin"

venv: $(VENV)/.installed

# constraints.txt pins every package, as frozen from the environment that measured the README's
# figures (`make lock` re-resolves it from the registry; `make setup CONSTRAINTS=` in a new
# checkout installs unpinned).
CONSTRAINTS ?= constraints.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	touch $@

# The newest releases pyproject.toml admits, resolved in a scratch environment and frozen.
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PYTHON) -m venv "$$tmp/venv" && \
	  "$$tmp/venv/bin/python" -m pip install -q --upgrade pip && \
	  "$$tmp/venv/bin/python" -m pip install -q -e '.[dev]' && \
	  { echo "# pip install -c constraints.txt: written by \`make lock\` on $$(date -u +%F)," \
	      "$$("$$tmp/venv/bin/python" -c 'import platform; print("CPython", platform.python_version(), platform.machine())')"; \
	    "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; } > constraints.txt.new && \
	  mv constraints.txt.new constraints.txt

# Spark (tests/test_spark.py) needs a Java 17 runtime; install it only when none is there.
java:
	@command -v java >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq openjdk-17-jre-headless; }

# KenLM's tools and the default model live in $(UNSPIN_CACHE); repeated runs reuse them.
lm:
	bash lm/build_kenlm.sh >/dev/null
	$(PYTHON) lm/build.py

# Derived phrase tables are built, not committed: mined from the dev pairs, decomposed
# from the tortured-phrases list, then the confidence map fitted on them (leave-one-out).
# Each is remade only when its inputs change.
lexicon: venv lexicon/built/pairs.tsv lexicon/built/tortured.tsv lexicon/built/calibration.json

lexicon/built/pairs.tsv: $(VENV)/.installed repair/learn.py $(wildcard $(SHARED)/dev/pairs/*.txt)
	@mkdir -p lexicon/built
	$(BIN)/unspin learn pairs $(SHARED)/dev/pairs -o $@

lexicon/built/tortured.tsv: $(VENV)/.installed repair/learn.py $(SHARED)/anchors/tortured_phrases.tsv
	@mkdir -p lexicon/built
	$(BIN)/unspin learn tortured $(SHARED)/anchors/tortured_phrases.tsv -o $@

# The re-scorer learns from the decoder's proposals and features: any change to them refits it.
lexicon/built/calibration.json: lexicon/built/pairs.tsv lexicon/built/tortured.tsv lexicon/curated.tsv $(wildcard lexicon/disabled.tsv) lm/build/default.binary lm/build/news.binary lm/build/heldout-dev.txt repair/__init__.py repair/edits.py repair/score.py repair/lm.py repair/decode.py repair/calibrate.py repair/spin.py repair/lexicon.py repair/text.py $(VENV)/.installed
	$(BIN)/unspin calibrate $(SHARED)/dev --synthetic lm/build/heldout-dev.txt --save > /dev/null
	rm -f lexicon/built/calibration.joblib  # an older build's model, a pickle: never read now

demo: setup
	$(BIN)/unspin diff $(SHARED)/dev/unpaired/seed-saraqeb.spun.txt
	$(BIN)/unspin eval $(SHARED)/dev

# Speed figures (docs/bench.md) and the confidence calibration map (lexicon/built).
bench: setup
	$(BIN)/unspin bench --scaling --plot docs/bench.png --json > bench/bench-default.json

calibrate: setup
	$(BIN)/unspin calibrate $(SHARED)/dev

eval: setup
	$(BIN)/unspin eval $(SHARED)/dev

# The HTML report's test drives the Debian Chromium (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)
	@command -v patch >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patch)

test: setup browser
	$(BIN)/python -m pytest

# The long fuzz run (tests/test_fuzz.py does a short one): an hour on the default model;
# new inputs go to fuzz/corpus, crashes to fuzz/crashes/. FUZZ_TIME=seconds to change.
FUZZ_TIME ?= 3600
fuzz: setup
	@mkdir -p fuzz/crashes
	$(BIN)/python fuzz/fuzz_repair.py fuzz/corpus -dict=fuzz/repair.dict -max_len=4096 \
		-max_total_time=$(FUZZ_TIME) -timeout=60 -artifact_prefix=fuzz/crashes/

lint: venv
	$(BIN)/ruff check repair tests
	$(BIN)/mypy repair

clean:
	rm -rf lexicon/built lm/build
