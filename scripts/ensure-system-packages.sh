#!/usr/bin/env bash
# Install the Debian packages the tests and the benchmark use, if any is missing:
#   sqlite3   - the benchmark's floor (the sqlite3 shell's own .import)
#   chromium  - the offline Data Docs check (headless, networking off)
# Idempotent and quiet when everything is there.
set -euo pipefail
missing=()
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: need ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
