#!/usr/bin/env bash
# Builds the Kubernetes control plane used by the integration tests (kube-apiserver,
# kube-controller-manager, kube-scheduler; kwok when it builds) from the Go modules pinned in
# tools/k8s-testbin/. Output is cached OUTSIDE the checkout, keyed by go.mod, go.sum, this
# script and the Go version, and skipped when present:
#   ${SPHINXCTL_CACHE:-$HOME/.cache/sphinxctl}/k8s-testbin/<key>/
# Prints that directory on stdout (the tests read it as SPHINXCTL_K8S_TESTBIN).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null 2>&1; then
  echo "k8s-testbin: Go is not installed (expected /usr/local/go/bin/go)" >&2
  exit 1
fi
src="$PWD/tools/k8s-testbin"
key=$( { cat "$src/go.mod" "$src/go.sum" "$src/kwok/go.mod" "$src/kwok/go.sum" scripts/k8s-testbin.sh 2>/dev/null; go version; } | sha256sum | cut -c1-16)
out="${SPHINXCTL_CACHE:-$HOME/.cache/sphinxctl}/k8s-testbin/$key"

# Two cores are shared with other work: cap both Go's scheduler and the build's parallelism.
export CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly" GOMAXPROCS="${GOMAXPROCS:-2}"
# The release the binaries report (/version), as Kubernetes' own build stamps it.
release=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$src/go.mod")
minor=${release#v1.}; minor=${minor%%.*}
stamp="-X k8s.io/component-base/version.gitVersion=$release -X k8s.io/component-base/version.gitMajor=1"
stamp+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
build() {  # build <module dir> <package> <binary name>
  local dir=$1 pkg=$2 name=$3
  [ -x "$out/$name" ] && return 0
  log "k8s-testbin: go build $pkg"
  (cd "$dir" && go build -p 2 -ldflags="-s $stamp" -o "$out/.$name.tmp" "$pkg")
  mv "$out/.$name.tmp" "$out/$name"
}

if [ ! -f "$out/.complete" ]; then
  mkdir -p "$out"
  # One build at a time: concurrent callers (parallel worktrees, CI retries) wait for it.
  exec 9>"$out/.lock"
  flock 9
fi
if [ ! -f "$out/.complete" ]; then
  build "$src" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
  build "$src" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager
  build "$src" k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler
  if [ -f "$src/kwok/go.mod" ]; then
    build "$src/kwok" sigs.k8s.io/kwok/cmd/kwok kwok
  fi
  touch "$out/.complete"
fi
echo "$out"
