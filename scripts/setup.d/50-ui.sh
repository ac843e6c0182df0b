#!/usr/bin/env bash
# flows_ui and `podflow top` are tested for real: the service-map page in Debian's
# headless Chromium (/usr/bin/chromium, driven by the npm package playwright-core,
# which never downloads a browser here) and `podflow top` in a tmux pane.
# Idempotent: installs the two apt packages only when missing.
set -euo pipefail

PACKAGES=(chromium tmux)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup(ui): installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "setup(ui): /usr/bin/chromium is missing after installing chromium" >&2; exit 1; }
command -v tmux >/dev/null || { echo "setup(ui): tmux is missing after installing it" >&2; exit 1; }
