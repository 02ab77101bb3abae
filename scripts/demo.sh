#!/usr/bin/env bash
# The main job on defaults. Until imaging lands this lists the disks the tool sees and why each is or is not usable.
set -euo pipefail
bin=${1:-artifacts/liveimager}
"$bin" --version
"$bin" list
