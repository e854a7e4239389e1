# Two entry points for a fresh machine (Python 3.11 and make): `make lab` and `make test`.
# Both create .venv and install the pinned environment first; nothing is installed globally.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lab test validate release clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

## Open the course in JupyterLab (learner view, in workspace/; your work there is never overwritten).
lab: install
	$(BIN)/python -m autograder lab

## Run the whole test suite (the same command CI runs).
test: install
	$(BIN)/python -m pytest

## Instructor helpers.
validate: install
	$(BIN)/python -m autograder validate

release: install
	$(BIN)/python -m autograder release

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
