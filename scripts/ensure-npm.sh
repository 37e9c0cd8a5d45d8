#!/usr/bin/env bash
# npm fetches the Data Docs assets (monitors/docs/assets.lock.json) from the npm registry.
# Install Debian's npm if it is missing (as root); otherwise say how.
set -euo pipefail
command -v npm >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: npm is needed for the offline Data Docs assets: sudo apt-get install -y npm" >&2
    exit 1
fi
echo "installing system package: npm"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends npm >/dev/null
