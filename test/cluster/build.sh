#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok)
# from Go modules into a cache outside the repository, keyed by the versions in versions.env.
# Prints the bin directory on the last line of stdout. Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

if ! command -v go >/dev/null 2>&1; then
  echo "wekube test cluster: Go is required to build the control plane, and 'go' is not on PATH." >&2
  echo "Install Go 1.26 or newer (https://go.dev/dl/, or /usr/local/go/bin on the CI image) and run again." >&2
  exit 3
fi

go_version=$(go env GOVERSION)
cache_root=${WEKUBE_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wekube/control-plane}
bin="$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$go_version/bin"
k8s_minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
staging_version="v0.${KUBERNETES_VERSION#v1.}"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf '[cluster build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

have() { [ -x "$bin/$1" ]; }

build_kubernetes() {
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "kubernetes $KUBERNETES_VERSION: resolving staging modules"
  local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
  (
    cd "$work"
    go mod init ci.local/k8sbins >/dev/null 2>&1
    local args=("-require=k8s.io/kubernetes@$KUBERNETES_VERSION")
    # Every staging replace (./staging/src/k8s.io/x) becomes the published v0.minor.patch of that module.
    while read -r mod; do args+=("-replace=$mod=$mod@$staging_version"); done < <(
      go mod edit -json "$gomod" | node -e \
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const r of JSON.parse(s).Replace??[])if(r.New.Path.startsWith("./staging/"))console.log(r.Old.Path)})')
    local godebug; godebug=$(sed -n 's/^godebug \(.*\)$/\1/p' "$gomod" | head -1)
    [ -n "$godebug" ] && args+=("-godebug=$godebug")
    go mod edit "${args[@]}"
    log "kubernetes: downloading modules and compiling kube-apiserver, kube-controller-manager, kube-scheduler (cold: 15-30 min on 2 cores)"
    local date; date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    local ld="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
      ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
    done
    mkdir -p "$bin.tmp"
    go build -trimpath -ldflags "$ld" -o "$bin.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler
  )
  mkdir -p "$bin"
  mv "$bin.tmp"/kube-* "$bin/"
  rmdir "$bin.tmp"
  log "kubernetes: $("$bin/kube-apiserver" --version)"
}

# etcd's binaries from their modules at one version, in a wrapper module of their own (sharing one with kubernetes
# would let MVS upgrade etcd's dependencies). Arguments: the module paths; each binary is named as go names it.
build_etcd_modules() {
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"; trap - RETURN' RETURN
  log "etcd $ETCD_VERSION: compiling $* (cold: a few minutes)"
  (
    cd "$work"
    go mod init ci.local/etcdbins >/dev/null 2>&1
    local module
    for module in "$@"; do go mod edit "-require=$module@$ETCD_VERSION"; done
    mkdir out
    go build -trimpath -ldflags "-s -w" -o "$work/out/" "$@"
  )
  mkdir -p "$bin"
  mv "$work"/out/* "$bin/"
}

# The server (named etcd, as the module's directory), and etcdctl (snapshot save) and etcdutl (snapshot restore)
# for the backup-and-restore drill.
build_etcd() {
  build_etcd_modules go.etcd.io/etcd/server/v3
  mv "$bin/server" "$bin/etcd" 2>/dev/null || true
  log "etcd: $("$bin/etcd" --version | head -1)"
}

build_etcd_tools() {
  build_etcd_modules go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3
  log "etcd tools: $("$bin/etcdctl" version | head -1)"
}

build_kwok() {
  log "kwok $KWOK_VERSION: compiling"
  mkdir -p "$bin"
  GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  log "kwok: $("$bin/kwok" --version 2>&1 | head -1)"
}

started=$(date +%s)
have etcd || build_etcd
have kwok || build_kwok
{ have etcdctl && have etcdutl; } || build_etcd_tools
{ have kube-apiserver && have kube-controller-manager && have kube-scheduler; } || build_kubernetes
log "control plane binaries ready in $bin ($(( $(date +%s) - started ))s)"
echo "$bin"
