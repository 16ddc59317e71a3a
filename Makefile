# The README's two commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
# Where `make run` keeps photos and records between runs (ignored by git; `make clean`
# removes it, `make run RESET=1` starts empty).
DATA ?= .data

.PHONY: run test lint typecheck bench browser clean deploy-env

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m platescan serve --port $(PORT) --data $(DATA) $(if $(RESET),--reset)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy platescan functions infra __main__.py

test: $(STAMP) browser lint typecheck
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m platescan bench $(DATASET)

# The small environment `pulumi up` runs the program in (Pulumi.yaml names it): the
# deploy requirements only, at the versions requirements.txt pins. No browser, no OCR.
deploy-env: .venv-deploy/.installed

.venv-deploy/.installed: requirements-deploy.txt requirements.txt
	$(PYTHON) -m venv .venv-deploy
	.venv-deploy/bin/python -m pip install --quiet --upgrade pip
	.venv-deploy/bin/python -m pip install --quiet -r requirements-deploy.txt
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache artifacts .home $(DATA) .venv-deploy .venv-train
