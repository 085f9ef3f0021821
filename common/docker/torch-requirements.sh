#!/bin/sh
# Prints a torch image's requirements for `pip install -r` (the torch packages' Dockerfiles use it).
# TORCH=cpu (the build-arg's default): first installs the lock's torch and torchvision versions from
# PyTorch's CPU index (they then meet the torch pins), and prints the requirements without the CUDA
# wheels the lock lists. Any other TORCH (cuda): prints them as they are (PyPI's CUDA torch).
#   usage: sh torch-requirements.sh <package>/requirements.txt > /tmp/requirements.txt
set -eu
requirements="$1"
if [ "${TORCH-cpu}" = "cpu" ]; then
    pinned() { sed -n "s/^$1==\([^ ;]*\).*/\1/p" "$requirements"; }
    pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu \
        "torch==$(pinned torch)" "torchvision==$(pinned torchvision)" >&2
    grep -vE '^(nvidia-|cuda-|triton==)' "$requirements"
else
    cat "$requirements"
fi
