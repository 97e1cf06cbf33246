# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast results results-long clean ffmpeg-check servers-check

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet torch==2.13.0
	# onnx2torch (the ONNX detector backend) declares torchvision, which vcm must not pull in
	$(VENV)/bin/pip install --quiet --no-deps onnx2torch==1.5.15
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's ffmpeg is the independent conformance check used by the tests.
ffmpeg-check:
	@command -v ffmpeg >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "tests need Debian's ffmpeg: sudo apt-get install ffmpeg" >&2; exit 1; fi; }

# Real servers for tests/system (PostgreSQL server binaries) and the browser for UI tests.
SERVERS_PKGS := postgresql chromium chromium-driver
servers-check:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SERVERS_PKGS) >/dev/null; \
	  else echo "tests need Debian's $(SERVERS_PKGS): sudo apt-get install $(SERVERS_PKGS)" >&2; exit 1; fi; }

demo: $(STAMP)
	$(VENV)/bin/vcm demo

# Every test, one worker per core (pytest-xdist); `.ci/run` calls this.
test: $(STAMP) ffmpeg-check servers-check
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/python -m pytest -n 2 --dist worksteal

# While editing: the tests not marked slow or system (under 2 minutes).
test-fast: $(STAMP) ffmpeg-check
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/python -m pytest -n 2 --dist worksteal -m "not slow and not system"

# Regenerate the result tables of README.md and docs/benchmarks.md from this commit (results/).
# PARTS="a b" runs the named parts; results-long runs every part (see bench/results.py --list).
results: $(STAMP)
	$(VENV)/bin/python bench/results.py $(PARTS)

results-long: $(STAMP)
	$(VENV)/bin/python bench/results.py --long

clean:
	rm -rf $(VENV) build src/*.egg-info
