# The two entry points of the README: both do all set-up first (idempotent).
.PHONY: run test setup bench

setup:
	@bash scripts/setup.sh

run: setup
	@bin/podflow run

test: setup
	@npm test

bench: setup
	@npm run bench
