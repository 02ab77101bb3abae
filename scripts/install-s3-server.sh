#!/usr/bin/env bash
# Installs the S3-compatible server the s3:// store tests start on 127.0.0.1: @20minutes/s3rver (the maintained fork of
# s3rver, which checks SigV4 signatures) from the npm registry, at the
# version scripts/s3-server/package-lock.json pins, into /opt/liveimager-test/s3-server (outside the repo, kept between
# runs; LIVEIMAGER_S3RVER_DIR overrides). Debian 12 ships no S3 server short of Ceph's radosgw, which needs a cluster.
# Needs node and npm; without them it says so and exits 0, and the S3 tests skip with that reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${LIVEIMAGER_S3RVER_DIR:-/opt/liveimager-test/s3-server}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-s3-server: node or npm missing; the s3:// tests will skip" >&2
  exit 0
fi
if [ -f "$dir/node_modules/@20minutes/s3rver/package.json" ] && cmp -s "$here/s3-server/package-lock.json" "$dir/package-lock.json" \
   && cmp -s "$here/s3-server/serve.js" "$dir/serve.js"; then
  exit 0
fi
mkdir -p "$dir"
cp "$here/s3-server/package.json" "$here/s3-server/package-lock.json" "$here/s3-server/serve.js" "$dir/"
# Its package asks for node 24; it runs on Debian 12 + NodeSource 20 as the tests use it (npm only warns).
(cd "$dir" && npm ci --no-audit --no-fund --omit=dev --loglevel=error >/dev/null)
echo "install-s3-server: s3rver installed in $dir"
