# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test soak powerloss mutate system-deps venv bench clean

system-deps:
	@bash tests/setup/system-deps.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[server,dev]'
	touch $(STAMP)

venv: $(STAMP)

# The kiosk against the reference dinas server and simulated devices.
demo: system-deps venv
	$(PY) -m kiosk.demo

# Unit, device, service and UI tests; the UI ones under a virtual screen.
test: system-deps venv
	xvfb-run -a -s "-screen 0 1920x1920x24" $(PY) -m pytest -q $(PYTEST_ARGS)

# Issue 13's long soak: 1,000 whole sessions with link and device faults, reconciled job by job.
# Without pytest's log capture, which would keep every request's log line in this process and
# count it in the soak's memory growth.
soak: system-deps venv
	SOAK_SESSIONS=1000 $(PY) -m pytest -q -s -p no:logging tests/service/test_soak.py

# Issue 13's power loss: 200 sessions SIGKILLed at random moments, recovered, reconciled
# (ADM_POWER_LOSS_SEED=N repeats a run's kills; docs/POWER_LOSS.md).
powerloss: system-deps venv
	ADM_POWER_LOSS_SESSIONS=$${ADM_POWER_LOSS_SESSIONS:-200} $(PY) -m pytest -q -s tests/service/test_power_loss.py

# Issue 13's mutation testing of the critical modules, one at a time against their own tests
# (docs/MUTATION.md). `make mutate MUTATE="nik dinas-jobs"` runs some; MUTATE_CHILDREN=2 runs two workers.
mutate: venv
	$(PY) -m tests.mutation $(MUTATE)

# The fuzz targets at length (docs/FUZZING.md): every hypothesis budget times ADM_FUZZ_SCALE
# (`make test` runs them at 1), then atheris on each byte and text parser for FUZZ_SECONDS.
ADM_FUZZ_SCALE ?= 40
FUZZ_SECONDS ?= 60
fuzz: venv
	ADM_FUZZ_SCALE=$(ADM_FUZZ_SCALE) $(PY) -m pytest -q -o timeout=0 tests/fuzz $(PYTEST_ARGS)
	$(PY) -m tests.fuzz.atheris_run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Speed, size and memory figures against ARCHITECTURE §9's budgets (docs/PERFORMANCE.md).
bench: system-deps venv
	xvfb-run -a -s "-screen 0 1920x1920x24" $(PY) -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
