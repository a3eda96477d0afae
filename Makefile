# The two commands of the README: `make demo` and `make test`. Both create .venv if absent.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,corpora,metrics,metrics-extra,downstream,nemo,report,ray
DEMO_CODECS ?= original,opus@6,opus@12,codec2@3.2,codec2@1.3,mp3@8,amrnb@12.2,lyra@3.2,lyra@6,lyra@9.2
export HF_HUB_OFFLINE := 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/reports/cache/numba

.PHONY: install demo test clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	# NeMo without its declared deps: those pull CUDA wheels and tools we do not use; the
	# 'nemo' extra lists the minimal set AudioCodecModel needs (see constraints.txt).
	$(BIN)/pip install -q --no-deps -c constraints.txt nemo-toolkit==3.0.0
	# CREPE (torchcrepe) and DistillMOS (distillmos + its model code xls-r-sqa) without their declared
	# torchaudio: they use it only to read files (bench/metrics/_torchaudio_free.py); the rest of what
	# they need is in the 'metrics-extra' extra.
	$(BIN)/pip install -q --no-deps -c constraints.txt torchcrepe==0.0.24 distillmos==0.9.1 xls-r-sqa==0.1.0
	$(BIN)/pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/bench run --codec $(DEMO_CODECS) --suite demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) reports/runs reports/cache
