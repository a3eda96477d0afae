# The two commands of the README: `make demo` and `make test`. Both create .venv if absent.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,corpora,metrics,metrics-extra,downstream,nemo,report,ray,listen
# The full demo's settings: the committed baseline and CI's gate run (.github/workflows/codec-gate.yml
# reads them with `make -s demo-codecs`).
DEMO_CODECS ?= original,opus@6,opus@12,codec2@3.2,codec2@1.3,mp3@8,amrnb@12.2,lyra@3.2,lyra@6,lyra@9.2
# The quick demo: a seeded 24-clip subset, three rates per codec (so curves and BD rates exist) and
# the card's cheaper metrics, then the nemo-card report with listenable worst items.
QUICK_CODECS  ?= opus@6,opus@12,opus@24,lyra@3.2,lyra@6,lyra@9.2
QUICK_METRICS ?= visqol-speech,pesq-wb,stoi,si-sdr,snr,wer
QUICK_SUBSET  ?= 24
QUICK_RUN     ?= reports/runs/demo-quick
QUICK_CARD    ?= reports/latest-demo-card
export HF_HUB_OFFLINE := 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/reports/cache/numba

.PHONY: install demo demo-full demo-artifacts demo-codecs test clean listen-demo

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
	$(BIN)/bench run --codec $(QUICK_CODECS) --metric $(QUICK_METRICS) --suite demo \
	  --subset $(QUICK_SUBSET) --seed 0 --save-audio --out $(QUICK_RUN)
	$(BIN)/bench report $(QUICK_RUN) --layout nemo-card --listen 2 --out $(QUICK_CARD)
	@echo "card: $(QUICK_CARD)/index.html (open it in a browser; card.md beside it)"

# The full demo (10 settings x 96 clips x every default metric; ~35 min on 2 cores): the source of
# reports/baselines/demo.csv and reports/demo_report/.
demo-full: $(STAMP)
	$(BIN)/bench run --codec $(DEMO_CODECS) --suite demo

demo-codecs:
	@echo $(DEMO_CODECS)

# Every committed demo artefact from scratch (~40 min on 2 idle cores): the full demo (gate baseline
# and reports/demo_report), a second run sweeping more Opus/Codec2 rates, bench speed on this
# machine (run it with nothing else running), and the nemo-card report over both.
DEMO_SWEEP  ?= original,opus@8,opus@16,opus@24,codec2@2.4,codec2@1.6,codec2@0.7
SPEED_CODECS ?= opus@6,opus@8,opus@12,opus@16,opus@24,codec2@3.2,codec2@2.4,codec2@1.6,codec2@1.3,codec2@0.7,mp3@8,amrnb@12.2,lyra@3.2,lyra@6,lyra@9.2
DEMO_RUNS   ?= reports/runs
demo-artifacts: $(STAMP)
	$(BIN)/bench run --codec $(DEMO_CODECS) --suite demo --out $(DEMO_RUNS)/demo-full --no-progress
	$(BIN)/bench run --codec $(DEMO_SWEEP) --suite demo --out $(DEMO_RUNS)/demo-sweep --no-progress
	$(BIN)/bench speed --codec $(SPEED_CODECS) --device cpu --out $(DEMO_RUNS)/demo-full/speed.csv
	$(BIN)/bench baseline update $(DEMO_RUNS)/demo-full -o reports/baselines/demo.csv
	rm -rf reports/demo_report reports/demo_report.md reports/demo_report.csv reports/demo_report.html
	$(BIN)/bench report $(DEMO_RUNS)/demo-full --out reports/demo_report
	rm -rf reports/demo_card
	$(BIN)/bench report $(DEMO_RUNS)/demo-full $(DEMO_RUNS)/demo-sweep --layout nemo-card --listen 2 --worst 2 \
	  --out reports/demo_card

# A MUSHRA listening test on the embedded demo (docs/listening-create.md); then `bench listen serve`.
LISTEN_CODECS ?= opus@6,opus@12,codec2@3.2,lyra@3.2,lyra@6
LISTEN_RUN    ?= reports/runs/listen-demo
LISTEN_TEST   ?= reports/listening/demo
listen-demo: $(STAMP)
	$(BIN)/bench run --codec $(LISTEN_CODECS) --suite demo --min-duration 5 --max-per-speaker 2 --limit 16 \
		--save-audio --metric pesq-wb,estoi --out $(LISTEN_RUN) --no-progress
	$(BIN)/bench listen create $(LISTEN_RUN) --out $(LISTEN_TEST) --items 8 --excerpt 5 --seed 0 --force
	@echo "start the test: $(BIN)/bench listen serve $(LISTEN_TEST)"

# Two pytest-xdist processes (2 cores), whole files per process (--dist loadfile): a module's
# shared fixtures (a demo run, a loaded model, the Ray instance) are built once, in one process.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf $(VENV) reports/runs reports/cache
