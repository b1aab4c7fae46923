# captum_surv developer tasks. Every target works from a fresh clone:
# `make test` creates .venv and installs everything it needs first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PEERS_STAMP := $(VENV)/.peers-installed
# torch==2.13.0 is pinned in constraints.txt (a CPU wheel on the project's
# machines); an unpinned torch would pull a multi-GB CUDA build.
CONSTRAINTS := -c constraints.txt

.PHONY: help venv install demo test lint format bench-forward bench-grid bench-parametric figures notebooks clean

help:
	@echo "make venv           create .venv and install captum_surv[dev,data,notebooks]"
	@echo "make demo           run scripts/demo.py (DeepSurv on GBSG2 + Integrated Gradients)"
	@echo "make test           run the test suite and execute every notebook"
	@echo "make notebooks      re-execute the notebooks in place (refresh their outputs)"
	@echo "make lint           ruff check + ruff format --check"
	@echo "make format         ruff format + ruff check --fix"
	@echo "make bench-forward  benchmark forward/baseline hazards against pycox"
	@echo "make bench-grid     benchmark all-time-points attributions against Captum"
	@echo "make bench-parametric  parametric fast path (Weibull network) against the Captum loop"
	@echo "make bench-quick    captum_surv vs SurvSHAP(t) and SurvLIME, quick (~7 min)"
	@echo "make bench          the full peer benchmark (1.5-2 h)"
	@echo "make figures        plots of real models (DeepSurv, CoxTime, DeepHit, multimodal) -> outputs/figures/"
	@echo "make clean          remove caches and outputs (keeps .venv)"

venv: $(STAMP)
install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(CONSTRAINTS) torch==2.13.0
	$(PIP) install $(CONSTRAINTS) -e '.[dev,data,notebooks]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

# The whole suite: unit tests and every notebook (executed by nbmake). The peers are
# installed too, so that the peer benchmark's tiny-configuration test runs for real.
test: $(PEERS_STAMP)
	$(PY) -m pytest -q tests --nbmake notebooks

notebooks: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace notebooks/*.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench-forward: $(STAMP)
	$(PY) benchmarks/bench_forward.py

bench-grid: $(STAMP)
	$(PY) benchmarks/bench_time_grid.py

bench-parametric: $(STAMP)
	$(PY) benchmarks/bench_parametric.py

figures: $(STAMP)
	$(PY) scripts/figures.py

# Benchmarks against SurvSHAP(t) (survshap) and SurvLIME (survlimepy): benchmarks/bench_peers.py.
# The peers come from benchmarks/requirements-peers.txt; survlimepy without its dependencies
# (it pins scikit-survival 0.18 / scikit-learn 1.1.2, which do not build).
.PHONY: bench-peers bench-quick bench

$(PEERS_STAMP): $(STAMP) benchmarks/requirements-peers.txt
	$(PIP) install $(CONSTRAINTS) -r benchmarks/requirements-peers.txt
	$(PIP) install $(CONSTRAINTS) --no-deps survlimepy==0.0.11
	@touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)

bench-quick: $(PEERS_STAMP)
	$(PY) benchmarks/bench_peers.py --quick

bench: $(PEERS_STAMP)
	$(PY) benchmarks/bench_peers.py

clean:
	rm -rf outputs .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
