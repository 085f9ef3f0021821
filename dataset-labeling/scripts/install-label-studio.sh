#!/usr/bin/env bash
# Install the Label Studio server into its own venv (its pins stay out of the workspace lock).
# Idempotent: does nothing when the venv already has a working `label-studio` entry point.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LABEL_STUDIO_VENV:-$ROOT/.venv-labelstudio}"
PYTHON="${LABEL_STUDIO_PYTHON:-$HOME/.pyenv/versions/3.12.1/bin/python}"
if [ ! -x "$PYTHON" ]; then
  PYTHON="$(command -v python3.12 || command -v python3)"
fi

if [ -x "$VENV/bin/label-studio" ] && "$VENV/bin/python" -c "import label_studio" 2>/dev/null; then
  echo "Label Studio already installed in $VENV"
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "label-studio==1.23.2"
echo "Label Studio installed in $VENV"
