# kiln: `make dev` runs the whole product locally; `make test` runs every test.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PORT ?= 8000
WEB_SOURCES := $(shell find web/src web/scripts web/index.html web/vite.config.ts web/tsconfig.json web/package-lock.json -type f 2>/dev/null)

.PHONY: dev test test-fast test-python test-web lint typecheck bench web build validate openapi setup setup-browser setup-sandbox clean

## setup: Python env (uv, locked), web dependencies (npm ci, locked), the build sandbox
setup: .venv/.synced web/node_modules/.synced setup-sandbox

$(UV):
	python3 -m pip install --quiet --user uv==$(UV_VERSION) || python3 -m pip install --quiet uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra local
	@touch $@

web/node_modules/.synced: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

## setup-sandbox: bubblewrap, where the build gate runs projects' own code (kiln.sandbox);
## without root it is left out and `kiln dev` says plainly that builds run unsandboxed
setup-sandbox:
	@command -v bwrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || echo "WARNING: could not install bubblewrap; builds will run without a sandbox"

# esbuild + cjs-module-lexer for the package service (kiln.packages.build)
setup: tools/pkgbuild/node_modules/.synced
tools/pkgbuild/node_modules/.synced: tools/pkgbuild/package.json tools/pkgbuild/package-lock.json
	cd tools/pkgbuild && npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

## setup-browser: Debian's Chromium for the browser tests (playwright install cannot download here)
setup-browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

web/dist/index.html: web/node_modules/.synced $(WEB_SOURCES)
	cd web && npm run build

## web: build the web app into web/dist
web: web/dist/index.html

## dev: install what is missing, build web/ when out of date, run kiln on http://127.0.0.1:$(PORT)
dev: setup web
	$(UV) run kiln dev --port $(PORT)

## test: lint, type checks, web unit tests, then every Python test (unit, integration, e2e)
test: setup setup-browser lint typecheck test-web test-python

## test-fast: unit + in-process integration tests (no browser, npm, SAM or multi-process runs)
test-fast: .venv/.synced
	$(UV) run pytest -p no:cacheprovider -n 2 --dist loadfile -m "not slow"

test-web: web/node_modules/.synced
	cd web && npm test

test-python: setup web
	$(UV) run pytest -p no:cacheprovider -n 2 --dist loadfile

lint: .venv/.synced web/node_modules/.synced
	$(UV) run ruff check src tests functions bench
	$(UV) run ruff format --check src tests functions bench
	cd web && npm run lint

typecheck: .venv/.synced web/node_modules/.synced
	$(UV) run mypy
	cd web && npx tsc --noEmit

## bench: performance figures, each next to its baseline from the same run -> bench/results.json
bench: setup web setup-browser
	$(UV) run python -m bench

## openapi: export the combined OpenAPI document for the web client's generated types
openapi: .venv/.synced
	$(UV) run python -c "from kiln.api.app import openapi_json; print(openapi_json())" > web/openapi.json
	cd web && npm run gen:api

## build / validate: SAM (no Docker needed)
build: .venv/.synced
	$(MAKE) -f infra/Makefile build

validate: .venv/.synced
	$(MAKE) -f infra/Makefile validate

clean:
	rm -rf .venv web/node_modules web/dist .aws-sam .kiln
