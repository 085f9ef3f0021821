#!/usr/bin/env bash
# Installs the outside parts the test suite starts for real, when they are missing:
# Label Studio in its own venv, Debian chromium (browser tests), nginx (gateway tests) and
# PostgreSQL (Optuna's shared-study storage), Prometheus (`make run` scrapes every service).
set -euo pipefail
cd "$(dirname "$0")/.."

bash dataset-labeling/scripts/install-label-studio.sh

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -d /usr/lib/postgresql ] || missing+=(postgresql)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/prometheus-pushgateway ] || missing+=(prometheus-pushgateway)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-test-deps: need ${missing[*]} (apt-get) but not root and no sudo; those tests will skip" >&2
    exit 0
  fi
  echo ">> apt-get install ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
