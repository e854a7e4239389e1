# Two entry points for a fresh machine (Python 3.11 and make): `make lab` and `make test`.
# Both create .venv and install the pinned environment first; nothing is installed globally.
#
# The install uses uv (pinned in constraints.txt, installed into .venv with pip), which installs this
# stack several times faster than pip, from the same constraints.txt. If uv cannot be installed or
# fails, plain pip does the install. `make install INSTALLER=pip` forces pip.
#
# uv does not read pip's configuration, so the index options pip would use here (PIP_* variables and
# pip.conf: index-url, extra-index-url, find-links, no-index, constraint; see `pip config list`) are
# handed to uv, with pip's way of choosing among several indexes (the best match over all of them).
# Both installers therefore see the same wheels; e.g. for the CPU build of torch on Linux:
#   PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make lab
PYTHON    ?= python3
INSTALLER ?= uv
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed-stamp
PIP       := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install lab test validate release clean

install: $(STAMP)

# Prints pip's effective index options as uv arguments (shell-quoted). Precedence as in pip: an
# environment variable over the [install] section over [global].
define NNCOURSE_PIP_TO_UV
import ast, shlex, subprocess, sys
listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                        capture_output=True, text=True).stdout
rank, found = {":env:": 3, "install": 2, "global": 1}, {}
for line in listed.splitlines():
    name, _, value = line.partition("=")
    section, _, key = name.rpartition(".")
    if section in rank and rank[section] >= found.get(key, (0,))[0]:
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = value.strip("'\"")
        found[key] = (rank[section], str(value).split())
get = lambda key: found.get(key, (0, []))[1]
args = ["--index-url", get("index-url")[0]] if get("index-url") else []
for key in ("extra-index-url", "find-links", "constraint"):
    for value in get(key):
        args += ["--" + key.replace("constraint", "constraints"), value]
if get("no-index")[:1] in (["1"], ["true"], ["yes"], ["on"]):
    args.append("--no-index")
if get("extra-index-url"):
    args += ["--index-strategy", "unsafe-best-match"]
print(shlex.join(args))
endef
export NNCOURSE_PIP_TO_UV

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	@if [ "$(INSTALLER)" = uv ] && $(PIP) install -q -c constraints.txt uv; then \
	  uv_args=$$($(BIN)/python -c "$$NNCOURSE_PIP_TO_UV") && \
	  echo "$(BIN)/uv pip install --python $(BIN)/python -c constraints.txt $$uv_args -e \".[test]\"" && \
	  eval "$(BIN)/uv pip install --python $(BIN)/python -c constraints.txt $$uv_args -e '.[test]'" && exit 0; \
	  echo "uv could not install the environment; installing with pip instead"; \
	fi; \
	echo "$(PIP) install -c constraints.txt -e \".[test]\""; \
	$(PIP) install -c constraints.txt -e ".[test]"
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
