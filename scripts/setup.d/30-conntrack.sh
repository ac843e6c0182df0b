#!/usr/bin/env bash
# conntrack set-up (idempotent): the kernel side the conntrack receiver and its
# tests need, and the native addon in native/conntrack. The addon speaks
# ctnetlink over a raw netlink socket with its own bounds-checked parser, so it
# needs only the kernel UAPI headers (linux-libc-dev, already there with g++):
# no libmnl / libnetfilter_conntrack.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" = 0 ]; then
  # Built-in on many kernels; modprobe only when the sysctls are missing.
  if [ ! -e /proc/sys/net/netfilter/nf_conntrack_acct ]; then
    modprobe nf_conntrack 2>/dev/null || echo "setup: cannot load nf_conntrack; the conntrack receiver will report PODFLOW_CONNTRACK_UNSUPPORTED" >&2
    modprobe nf_conntrack_netlink 2>/dev/null || true
  fi
  # Byte/packet counters per connection (the receiver also sets this per network
  # namespace it reads, where it may).
  if [ -e /proc/sys/net/netfilter/nf_conntrack_acct ]; then
    sysctl -qw net.netfilter.nf_conntrack_acct=1 || echo "setup: cannot set net.netfilter.nf_conntrack_acct=1" >&2
  fi
fi

# The addon, with npm's bundled node-gyp against the headers npm is configured
# with (nodedir); N-API only, so the pinned Node loads it. Rebuilt only when a
# source is newer than the binary.
ADDON=native/conntrack/build/Release/podflow_conntrack.node
if [ ! -e "$ADDON" ] || [ -n "$(find native/conntrack/src native/conntrack/binding.gyp -newer "$ADDON" -print -quit)" ]; then
  NODE_GYP="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  NODE=node_modules/.bin/node
  [ -x "$NODE" ] || NODE=node
  NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
  [ -n "$NODEDIR" ] && [ "$NODEDIR" != undefined ] || NODEDIR=/usr
  (cd native/conntrack && "../../$NODE" "$NODE_GYP" rebuild --nodedir="$NODEDIR" --loglevel=warn >/dev/null)
  touch "$ADDON"
fi

# The conntrack event injector of bench/conntrack.bench.ts (creates and deletes
# entries over ctnetlink). Outside native/conntrack/build, which node-gyp
# rebuild wipes.
INJECT=bench/tools/build/ct-inject
if [ ! -e "$INJECT" ] || [ bench/tools/ct-inject.c -nt "$INJECT" ]; then
  mkdir -p bench/tools/build
  cc -O2 -Wall -Wextra -o "$INJECT" bench/tools/ct-inject.c
fi
