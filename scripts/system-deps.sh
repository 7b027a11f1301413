#!/usr/bin/env bash
# Debian packages the test suite uses: kcat (a downstream Kafka consumer that is not ours),
# chromium (dashboard screenshots), and actionlint (GitHub workflow checks, from the Go proxy).
# Installs only what is missing; needs root (CI runs as root); prints what it skips otherwise.
set -euo pipefail

need=()
command -v kcat >/dev/null || need+=(kcat)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-deps: not root, skipping apt-get install ${need[*]}" >&2
  else
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if ! command -v actionlint >/dev/null && [[ ! -x "$HOME/go/bin/actionlint" ]]; then
  if command -v go >/dev/null; then
    GOFLAGS=-mod=mod go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
  else
    echo "system-deps: go not found, actionlint not installed" >&2
  fi
fi
