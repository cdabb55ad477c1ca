#!/usr/bin/env bash
# Installs the report tools: Allure 3 (pinned in tools/package-lock.json) and Debian's Chromium.
# Idempotent and quiet; a second run with everything in place takes well under a second.
# Usage: scripts/install-report-tools.sh [--no-browser]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
ALLURE_VERSION="3.14.3" # 3.15+ crash in quality gates on Node 20; keep in step with tools/package.json
STAMP="$TOOLS/node_modules/.installed-$ALLURE_VERSION"
WANT_BROWSER=1
[[ "${1:-}" == "--no-browser" ]] && WANT_BROWSER=0

die() { echo "install-report-tools: $*" >&2; exit 1; }

if [[ ! -f "$STAMP" || "$TOOLS/package-lock.json" -nt "$STAMP" || ! -x "$TOOLS/node_modules/.bin/allure" ]]; then
    command -v npm >/dev/null || die "npm not found: install Node.js 20 (Debian: apt-get install -y nodejs npm)"
    # npm ci installs exactly the lock file (integrity-checked), never a newer transitive release.
    (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in $TOOLS"
    got="$("$TOOLS/node_modules/.bin/allure" --version 2>/dev/null | tail -n 1)"
    [[ "$got" == "$ALLURE_VERSION" ]] || die "expected Allure $ALLURE_VERSION, got '$got'"
    touch "$STAMP"
fi

if [[ "$WANT_BROWSER" == 1 && ! -x /usr/bin/chromium ]]; then
    [[ "$(id -u)" == 0 ]] || die "/usr/bin/chromium missing: run as root, or: sudo apt-get install -y chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
fi
