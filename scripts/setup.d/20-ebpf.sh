#!/usr/bin/env bash
# eBPF datapath set-up (idempotent): kernel filesystems the receiver needs, the
# CO-RE build of bpf/ against this kernel's BTF, and the native addon in
# native/ebpf. Each step is skipped when its output is newer than its inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."

# bpffs and tracefs: the receiver mounts them itself where it may, but tests
# and bpftool expect them, so mount here when running as root.
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpffs /sys/fs/bpf 2>/dev/null || echo "setup: cannot mount bpffs at /sys/fs/bpf" >&2
  if [ -d /sys/kernel/tracing ] && ! [ -e /sys/kernel/tracing/events ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "setup: cannot mount tracefs at /sys/kernel/tracing" >&2
  fi
fi

OUT=bpf/.output
mkdir -p "$OUT"

# vmlinux.h: the kernel's types for CO-RE. Generated from the running kernel's
# BTF; CO-RE relocations make the object run on other kernels with BTF.
if [ ! -s "$OUT/vmlinux.h" ]; then
  if [ ! -r /sys/kernel/btf/vmlinux ]; then
    echo "setup: /sys/kernel/btf/vmlinux missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF); the ebpf receiver cannot be built here" >&2
    exit 1
  fi
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h.tmp"
  mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
fi

# One object per hook family, linked into one so the maps are shared, then
# embedded in the addon as a libbpf skeleton.
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
objs=()
for src in bpf/*.bpf.c; do
  obj="$OUT/$(basename "$src" .c).o"
  objs+=("$obj")
  if [ ! -e "$obj" ] || [ -n "$(find "$src" bpf/include "$OUT/vmlinux.h" -newer "$obj" -print -quit)" ]; then
    clang -target bpf -g -O2 -Wall -D__TARGET_ARCH_"$ARCH" -I"$OUT" -Ibpf/include -c "$src" -o "$obj"
  fi
done
if [ ! -e "$OUT/podflow.skel.h" ] || [ -n "$(find "${objs[@]}" -newer "$OUT/podflow.skel.h" -print -quit)" ]; then
  bpftool gen object "$OUT/podflow.bpf.o" "${objs[@]}"
  bpftool gen skeleton "$OUT/podflow.bpf.o" name podflow_bpf > "$OUT/podflow.skel.h.tmp"
  mv "$OUT/podflow.skel.h.tmp" "$OUT/podflow.skel.h"
fi

# Optional features (bpf/features/NAME.bpf.c: DNS capture, packet drops) are
# objects of their own, each embedded as skeleton podflow_NAME_bpf, so a
# feature that is off loads nothing and costs nothing.
for src in bpf/features/*.bpf.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .bpf.c)
  obj="$OUT/feature-$name.bpf.o"
  skel="$OUT/podflow_$name.skel.h"
  if [ ! -e "$skel" ] || [ -n "$(find "$src" bpf/include "$OUT/vmlinux.h" -newer "$skel" -print -quit)" ]; then
    clang -target bpf -g -O2 -Wall -D__TARGET_ARCH_"$ARCH" -I"$OUT" -Ibpf/include -c "$src" -o "$obj"
    bpftool gen skeleton "$obj" name "podflow_${name}_bpf" > "$skel.tmp"
    mv "$skel.tmp" "$skel"
  fi
done

# The connection-rate load generator of bench/datapath.bench.ts.
if [ ! -e "$OUT/conn-rate" ] || [ bench/tools/conn-rate.c -nt "$OUT/conn-rate" ]; then
  cc -O2 -Wall -pthread -o "$OUT/conn-rate" bench/tools/conn-rate.c
fi

# The stateless sock_ops floor bench/datapath.bench.ts measures podflow's
# sock_ops against (loaded there with bpftool).
if [ ! -e "$OUT/sockops-floor.bpf.o" ] || [ -n "$(find bench/tools/sockops-floor.bpf.c bpf/include "$OUT/vmlinux.h" -newer "$OUT/sockops-floor.bpf.o" -print -quit)" ]; then
  clang -target bpf -g -O2 -Wall -D__TARGET_ARCH_"$ARCH" -I"$OUT" -Ibpf/include -c bench/tools/sockops-floor.bpf.c -o "$OUT/sockops-floor.bpf.o"
fi

# The addon, with npm's bundled node-gyp, against the headers npm is configured
# with (nodedir); N-API only, so the pinned Node loads it.
ADDON=native/ebpf/build/Release/podflow_ebpf.node
if [ ! -e "$ADDON" ] || [ -n "$(find native/ebpf/src native/ebpf/binding.gyp "$OUT"/*.skel.h bpf/include -newer "$ADDON" -print -quit)" ]; then
  NODE_GYP="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  NODE=node_modules/.bin/node
  [ -x "$NODE" ] || NODE=node
  NODEDIR="$(npm config get nodedir 2>/dev/null || true)"
  [ -n "$NODEDIR" ] && [ "$NODEDIR" != undefined ] || NODEDIR=/usr
  (cd native/ebpf && "../../$NODE" "$NODE_GYP" rebuild --nodedir="$NODEDIR" --loglevel=warn >/dev/null)
  touch "$ADDON"
fi
