#!/usr/bin/env bash
# The exporters' TLS test (test/e2e/otlp-tls.test.ts) makes its certificates
# with the openssl CLI; install it when a minimal image lacks it.
set -euo pipefail
if ! command -v openssl >/dev/null 2>&1; then
  echo "setup: installing openssl" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
