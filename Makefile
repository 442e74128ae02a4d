# Jixiao: `make run` serves the demo, `make test` runs the whole suite (SQLite, then PostgreSQL).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip -q --disable-pip-version-check
HOST   ?= 127.0.0.1
PORT   ?= 5000
export HOST PORT

.PHONY: run test test-sqlite test-postgres catalogs lint clean bench

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e . 2>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[test]' 2>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
	touch $@

catalogs: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -f -d app/translations >/dev/null

run: $(VENV)/.installed catalogs
	scripts/system-packages.sh pdf
	$(PY) run.py

test: $(VENV)/.installed-test catalogs
	scripts/system-packages.sh pdf postgres browser redis
	$(MAKE) test-sqlite test-postgres

PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n $(or $(TEST_WORKERS),2) --durations=20

test-sqlite:
	$(PYTEST)

# Everything that touches the database, again on a throwaway PostgreSQL cluster.
test-postgres:
	JIXIAO_TEST_DATABASE=postgresql $(PYTEST) -m "not browser" \
	  --ignore=tests/engine --ignore=tests/pdf --ignore=tests/workflow

lint:
	$(VENV)/bin/ruff check app tests bench config.py run.py

bench: $(VENV)/.installed-test
	$(PY) bench/formula.py
	$(PY) bench/metrics.py
	$(PY) bench/cycle.py
	$(PY) bench/export.py
	$(PY) bench/pdf.py
	scripts/system-packages.sh redis
	$(PY) bench/jobs.py

clean:
	rm -rf $(VENV) instance/jixiao.db
