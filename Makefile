# The two commands: `make run` (default experiment to a frontier plot) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all

# toy-checkpoints trains and distils with this: the parts, every member, its distilled student and its SR member
FAMILY := config/toy-family.yaml

.PHONY: run test test-cluster dry-run lint report screenshot clean toy-checkpoints gpu-wheels gpu-slim gpu-unslim \
	gpu-check gpu-rehearse

# The GPU check's wheel list pins Snakemake's and diffusers' requirements; installing under it as constraints keeps
# this environment the one its rehearsal tests (a new release of one of them, sqlalchemy 2.0.59, broke that).
PINS := workflow/benchmarks/gpu/wheels.txt

$(STAMP): pyproject.toml $(PINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv fetches and unpacks the 3 GB of wheels (torch and its CUDA libraries) in parallel and compiles the bytecode
	@# on every core: 46 s from cold caches here, against 100 s for pip and compileall (2026-12-03).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode --constraint $(PINS) -e '.[test,lint]'
	touch $@

# CONFIG=config/examples/toy-sr.yaml (say) runs that experiment instead of config.yaml's, into results/toy-sr/.
run: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG))

test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

# The tiny workflow through `--profile profiles/slurm` on a one-node SLURM started on this machine (needs root:
# apt-get installs slurm-wlm and munge if missing; writes /etc/slurm/slurm.conf for the run only). Not in `make test`.
test-cluster: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[cluster]'
	PATH=$(CURDIR)/$(BIN):$$PATH PYTHON=$(CURDIR)/$(BIN)/python bash tests/cluster/run.sh

dry-run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --dry-run

# What CI checks before the tests: Python lint and format, Snakemake format, Snakemake's own lints (default config).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --lint

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --report report.html

# The default frontier chart as headless Chromium shows it with no network (needs chromium; after `make run`).
SHOT ?= results/default/frontier/attr_acc__normalised_cost__winners
screenshot: $(STAMP)
	$(BIN)/python tests/browser.py $(SHOT).html $(SHOT).screenshot.png

# Retrain the toy family with config.yaml's recipe and replace the checkpoints shipped in resources/toy/.
toy-checkpoints: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) --configfile $(FAMILY) -- ship_toy
	for d in results/$(basename $(notdir $(FAMILY)))/toy/ship/v*; do rm -rf resources/toy/$$(basename $$d) && cp -r $$d resources/toy/; done
	find resources/toy -name .snakemake_timestamp -delete

clean:
	rm -rf results logs benchmarks resources/models .snakemake

# The prepared GPU check (docs/gpu.md). gpu-wheels: the wheels the device image lacks, for its CPython 3.12, into
# .whl/, and what a device call would send. gpu-slim: a branch without the shipped toy checkpoints (78 MiB), the tree a
# device call can send (at most 64 MiB); gpu-unslim returns to $(BRANCH). gpu-check: the check itself, on the device.
GPU := workflow/benchmarks/gpu
BRANCH ?= main
gpu-wheels: $(STAMP)
	$(BIN)/python $(GPU)/wheels.py --dest .whl --python-version 3.12

gpu-slim: $(STAMP)
	@test -z "$$(git status --porcelain)" || { echo "gpu-slim switches branches: commit or stash first"; exit 1; }
	git switch -q -c gpu-slim
	git rm -r -q resources/toy/*/models
	git commit -q -m "gpu check: the tree without the shipped toy checkpoints"
	$(BIN)/python $(GPU)/wheels.py --no-download --check

gpu-unslim:
	git switch -q $(BRANCH) && git branch -q -D gpu-slim

gpu-check:
	bash $(GPU)/check.sh $(if $(OUT),$(OUT),gpu-check)

# The check's rehearsal on CPU at toy sizes (run by .ci/run): the same wheels for this Python, installed into a target
# directory beside an environment that holds only what the device image holds, then every step of the check.
REHEARSAL := build/gpu-rehearsal
gpu-rehearse: $(STAMP)
	$(BIN)/python $(GPU)/wheels.py --dest build/whl-rehearsal \
		--python-version $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	$(BIN)/python $(GPU)/device_env.py build/device-venv
	rm -rf $(REHEARSAL)
	PYTHON=build/device-venv/bin/python WHEELS=build/whl-rehearsal bash $(GPU)/check.sh --rehearse $(REHEARSAL)
	cp README.md docs/gpu.md $(REHEARSAL)/
	$(BIN)/python $(GPU)/tables.py $(REHEARSAL) --readme $(REHEARSAL)/README.md --docs $(REHEARSAL)/gpu.md
	$(BIN)/python $(GPU)/tables.py $(REHEARSAL) --print
