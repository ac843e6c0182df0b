#!/usr/bin/env bash
# One-time, idempotent set-up of a fresh machine for podflow: Debian packages,
# the pinned Node and npm packages, and whatever each part of podflow needs
# (scripts/setup.d/*.sh run in name order: kernel mounts, sysctls, native builds).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the build and the tests use. Installed only when missing, so a
# second run costs a dpkg query.
APT_PACKAGES=(
  make g++ python3            # node-gyp for native/
  clang llvm libbpf-dev libelf-dev bpftool  # bpf/ and native/
  iproute2 iptables conntrack ethtool       # test namespaces, NAT, conntrack
  prometheus                  # a real scraper for the Prometheus tests
  iperf3 wrk                  # load for the benchmarks
  tmux                        # terminal UI tests
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, including the pinned Node (devDependency "node"); skipped when
# node_modules already matches the lock file.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.setup-lock-stamp; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.setup-lock-stamp
fi

for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done
