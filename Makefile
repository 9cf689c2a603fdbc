# mt-eklient: `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint venv clean

$(STAMP): pyproject.toml scripts/bootstrap-venv
	bash scripts/bootstrap-venv $(VENV)
	touch $@

venv: $(STAMP)

## demo: build the simulated lab's WM clients, scan the fleet, write reports to reports/
demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo

## lint: static checks (ruff, ansible-lint production profile, profiles, sites, generated docs up to date)
lint: $(STAMP)
	$(BIN)/python -m compileall -q verifier/mt_eklient >/dev/null  # only what changed since the install
	$(BIN)/ruff check verifier tests
	PATH="$(abspath $(BIN)):$$PATH" ANSIBLE_NOCOLOR=1 NO_COLOR=1 ANSIBLE_CONFIG="$(abspath ansible.cfg)" \
		$(BIN)/ansible-lint --profile production --offline -q playbooks roles requirements.yml
	$(BIN)/mtk profile validate --quiet profiles/*.yml
	$(BIN)/mtk site validate --quiet sites/*.yml
	$(BIN)/mtk catalog docs --check

## test: every linter and test (what CI runs)
test: lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -q -n auto --dist loadscope --no-loadscope-reorder

clean:
	rm -rf $(VENV) lab .mtk reports
