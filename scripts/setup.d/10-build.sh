#!/usr/bin/env bash
# The JavaScript build podflow runs from (bin/podflow, the container image):
# src/ compiled by tsc (tsconfig.build.json) into dist/, with the assets src/
# holds beside its code (the flows_ui page). Running compiled JS instead of
# stripping types at load time saves the process Node's type stripper (a
# WebAssembly build of swc) and every thread (the main one and each
# flow_aggregate worker) its instance of it: the 1-worker pipeline of
# bench/pipeline.bench.ts went from 248 to 203 MiB max RSS.
#
# dist/ has the same depth as src/, so paths a module resolves from its own URL
# (../../config/default.yaml, ../../package.json, native/*/build) hold in both.
#
# Idempotent: skipped while no file under src/ (nor the tsconfigs) is newer
# than dist/.build-stamp. The build goes to dist.tmp/ and replaces dist/ only
# once complete, so a podflow started meanwhile never loads half a build.
# Type errors do not stop it (noCheck: `npm run typecheck` is the type check);
# syntax errors do.
set -euo pipefail
cd "$(dirname "$0")/../.."

STAMP=dist/.build-stamp
if [ -e "$STAMP" ] && [ -z "$(find src tsconfig.json tsconfig.build.json -newer "$STAMP" -print -quit)" ]; then
  exit 0
fi

TSC=node_modules/typescript/bin/tsc
NODE=node_modules/.bin/node
[ -x "$NODE" ] || NODE=node
[ -e "$TSC" ] || { echo "setup(build): $TSC is missing: run npm ci first" >&2; exit 1; }

rm -rf dist.tmp
mkdir -p dist.tmp
# Stamped before compiling: a source saved during the build is newer than the
# stamp, so the next run builds again.
touch dist.tmp/.build-stamp
"$NODE" "$TSC" -p tsconfig.build.json --outDir dist.tmp
# Everything under src/ that is neither TypeScript nor a component's README.
(cd src && find . -type f ! -name '*.ts' ! -name 'README.md' -print0) |
  while IFS= read -r -d '' f; do install -D -m 0644 "src/$f" "dist.tmp/$f"; done

rm -rf dist.old
[ ! -e dist ] || mv dist dist.old
mv dist.tmp dist
rm -rf dist.old
