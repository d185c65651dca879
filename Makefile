# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Links printed for tablets and patients name the address the service is served on.
CONSENT_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
export CONSENT_PUBLIC_URL
# Reinstall only when the dependencies change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

# gunicorn as deployed (deploy/gunicorn.conf.py: its JSON logs, limits, timeouts), without nginx
# in front: threaded workers that read each request whole before a thread takes it
# (consent.web.serving), so that slow clients cannot pin them. tests/serving reads this line.
RUN_SERVER_OPTIONS := -c deploy/gunicorn.conf.py --workers 2 --threads 8 --worker-class consent.web.serving.BufferingThreadWorker

.PHONY: run test lint bench deploy-test clean-venv fonts

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# The Arabic PDFs embed Noto Naskh Arabic from Debian's fonts-noto-core, found through fontconfig
# (consent/documents/fonts.py); installed here when missing (as root), never fetched at run time.
# Without it (not root, no package) the service still starts: English and French need no more,
# and an Arabic PDF answers with an error that names the package.
ARABIC_FONT := Noto Naskh Arabic
fonts:
	@fc-list ':family=$(ARABIC_FONT)' family | grep -q '$(ARABIC_FONT)' || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get install -y -q fonts-noto-core; \
	  else echo "warning: the Arabic PDFs need $(ARABIC_FONT): apt-get install fonts-noto-core" >&2; fi; }

run: $(STAMP) fonts
	$(BIN)/python -m consent.scripts.bootstrap --demo --instance instance
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	CONSENT_INSTANCE_PATH=$(CURDIR)/instance GUNICORN_BIND=127.0.0.1:$(PORT) \
		$(BIN)/gunicorn $(RUN_SERVER_OPTIONS)

# The OpenID provider the sign-on tests start (node's oidc-provider, pinned by its lock file).
OIDC_PROVIDER := tests/oidc/provider/node_modules/.installed
$(OIDC_PROVIDER): tests/oidc/provider/package-lock.json
	if command -v npm >/dev/null; then \
		npm ci --prefix tests/oidc/provider --no-audit --no-fund && touch $@; fi

test: $(STAMP) $(OIDC_PROVIDER)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check consent tests bench deploy
	$(BIN)/ruff format --check consent tests bench deploy
	$(BIN)/mypy consent
	$(BIN)/lint-imports

# The whole deployment on this machine (deploy/selftest.py, tests/deploy/test_deployment.py):
# nginx, two nodes, PostgreSQL (its own database, consent_deploy), Redis. Not part of `make test`.
deploy-test: $(STAMP)
	$(BIN)/python -m pytest -m deployment tests/deploy $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py
