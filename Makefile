# mcp-deploy: one entry point for developers and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
# Use uv from PATH if present, else a pinned copy installed from PyPI into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
# uv should trust the system CA store (corporate proxies), like pip does.
export UV_SYSTEM_CERTS := 1
VENV := .venv
PY := $(VENV)/bin/python
SERVER_VENV := server/.venv
GATEWAY_VENV := gateway/.venv
STACK ?= dev
TARGET ?=

.PHONY: help test lint pytest plan snapshots config-docs clean venv dev verify bench gateway-runtime bridge-runtime

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

venv: $(UV) ## create or update .venv (infra), server/, backup/, gateway/ and scanners/.venv from their lock files
	$(UV) sync --locked --quiet
	cd server && $(UV) sync --locked --quiet
	cd backup && $(UV) sync --locked --quiet
	cd gateway && $(UV) sync --locked --quiet
	cd bridge && $(UV) sync --locked --quiet
	cd scanners && $(UV) sync --locked --quiet
	cd verify && $(UV) sync --locked --quiet

test: venv lint pytest ## everything: lint, type check, infra tests, server tests (needs Postgres and Redis)

lint: venv ## ruff, pyright (infra and server) and actionlint (workflows)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pyright
	cd server && .venv/bin/pyright
	cd backup && .venv/bin/pyright
	cd gateway && .venv/bin/pyright
	cd bridge && .venv/bin/pyright
	cd verify && .venv/bin/pyright
	scanners/.venv/bin/actionlint

pytest: venv
	$(VENV)/bin/pytest
	$(SERVER_VENV)/bin/python -m pytest -c server/pyproject.toml --rootdir=. tests/server
	backup/.venv/bin/python -m pytest -c backup/pyproject.toml --rootdir=. tests/backup
	$(GATEWAY_VENV)/bin/python -m pytest -c gateway/pyproject.toml --rootdir=. tests/gateway
	bridge/.venv/bin/python -m pytest -c bridge/pyproject.toml --rootdir=. tests/bridge
	verify/.venv/bin/python -m pytest -c verify/pyproject.toml --rootdir=. tests/verify

# Only the runtime packages of the gateway, whose venv holds the notes server too (a path
# dependency): `make dev` needs neither Pulumi, the providers, the scanners nor the test tools.
# --inexact keeps what `make venv` may have added for the tests.
gateway-runtime: $(UV)
	cd gateway && $(UV) sync --locked --no-dev --inexact --quiet

# The stdio server make dev bridges, installed once (its command.json marks a finished install).
DEV_TIME_SPEC := pypi:mcp-server-time==2026.10.19
DEV_TIME_PREFIX := $(CURDIR)/.tools/stdio/dev-mcp-server-time-2026.10.19

bridge-runtime: $(UV)
	cd bridge && $(UV) sync --locked --no-dev --inexact --quiet

$(DEV_TIME_PREFIX)/command.json: | bridge-runtime
	rm -rf $(DEV_TIME_PREFIX)
	PATH="$(dir $(UV)):$$PATH" bridge/.venv/bin/mcp-bridge install $(DEV_TIME_SPEC) --prefix $(DEV_TIME_PREFIX)

dev: gateway-runtime bridge-runtime $(DEV_TIME_PREFIX)/command.json ## the local platform: the gateway on http://127.0.0.1:8000, notes at /notes/mcp, a bridged stdio server at /time/mcp [AUTH_ISSUER=...]
	cd server && DEV_BRIDGE=$(CURDIR)/bridge/.venv/bin/mcp-bridge DEV_TIME_PREFIX=$(DEV_TIME_PREFIX) \
		exec ../gateway/.venv/bin/mcp-gateway dev

# Only verify/'s runtime (httpx): checking a deployment needs nothing else synced.
verify: $(UV) ## check a deployment from outside: TLS, redirects, 401 challenge, RFC 9728 metadata, streams, /metrics, headers URL=https://<domain> [ROUTES=notes,time] [TOKEN=...]
	cd verify && $(UV) sync --locked --no-dev --inexact --quiet
	verify/.venv/bin/mcp-verify "$(URL)" $(if $(ROUTES),--routes "$(ROUTES)")

bench: venv ## ours vs the bare MCP SDK under wrk: req/s, p50/p99, start-up, memory (Postgres, Redis; ~4 min)
	@command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
	@# As in the image (UV_COMPILE_BYTECODE=1): where PYTHONDONTWRITEBYTECODE is set, as on
	@# these machines, every start would otherwise compile the SDK from source again.
	$(SERVER_VENV)/bin/python -m compileall -q -j 0 server/.venv/lib server/src bench >/dev/null
	$(SERVER_VENV)/bin/python -m bench.run

plan: venv ## offline plan of Pulumi.$(STACK).yaml under mocks [STACK=dev] [TARGET=aws-ecs|gcp-cloudrun|kubernetes]
	@$(PY) -m tests.harness.plan --stack $(STACK) $(if $(TARGET),--target $(TARGET))

snapshots: venv ## rewrite tests/snapshots/*.plan after reviewing `make plan` output
	$(PY) -m tests.harness.plan --update-snapshots

config-docs: venv ## regenerate Pulumi.yaml declarations and the README key table from mcp_deploy/config.py
	$(PY) -m mcp_deploy.config_docs

clean: ## remove the virtualenv, tool copies and caches
	rm -rf $(VENV) $(SERVER_VENV) $(GATEWAY_VENV) bridge/.venv verify/.venv backup/.venv scanners/.venv policy/venv .tools .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
