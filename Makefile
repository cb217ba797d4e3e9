# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test check bench serve dev-idp serve-oidc clean dist

# The first run installs for about a minute with nothing else to show: say so, or it looks hung.
$(BIN)/python:
	@echo "Installerer timebok i $(VENV) (bare første gang, omtrent ett minutt) …"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files so a second `make run` starts at once; they are redone when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@$(if $(wildcard $@),echo "Oppdaterer timebok i $(VENV) (pyproject.toml er endret) …",true)
	$(BIN)/python -m pip install -q -e .
	touch $@
	@echo "Ferdig installert. Neste gang starter timebok med en gang."

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@$(if $(wildcard $@),echo "Oppdaterer timebok og testverktøyene i $(VENV) (pyproject.toml er endret) …",echo "Installerer testverktøyene i $(VENV) …")
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run
	@echo "Ferdig installert."

run: $(VENV)/.installed-run
	$(BIN)/timebok

serve: $(VENV)/.installed-run
	$(BIN)/timebok serve --demo

# Real sign-in on this machine: a local ID-porten/HelseID-shaped provider, and a demo backend that trusts it.
IDP_PORT ?= 8790
PORT ?= 8787
dev-idp: $(VENV)/.installed-run
	$(BIN)/timebok dev-idp --port $(IDP_PORT)

serve-oidc: $(VENV)/.installed-run
	$(BIN)/timebok serve --demo --port $(PORT) --oidc-audience timebok \
		--oidc-issuer citizen=http://127.0.0.1:$(IDP_PORT)/idporten --oidc-issuer staff=http://127.0.0.1:$(IDP_PORT)/helseid

# pytest-xdist workers: three more than the cores, since a Pilot test mostly waits (the whole suite on the idle 2-core
# machine: 350 s of pytest time with 3 workers, 305 s with 4, 284 s with 5); worksteal: an idle worker takes tests
# queued for a busy one (a Pilot test takes 20 times an API test).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 3 )))
test: check
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# The checkers, each as an engineer runs it bare from the repository root: lint, format, types, layers.
check: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py

# The release: a wheel and an sdist in dist/, built in an isolated environment from pyproject.toml alone.
dist: $(VENV)/.installed-test
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	@ls -1 dist

clean:
	rm -rf $(VENV) .pytest_cache dist build
