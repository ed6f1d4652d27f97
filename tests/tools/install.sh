#!/usr/bin/env bash
# Installs the real tools the test suite drives: Debian's raptor2-utils (rapper),
# Chromium (headless screenshots), Virtuoso (the external-store backend), wrk (load) and
# OpenRefine (a real client of the Reconciliation Service; the package's command is
# /usr/bin/openrefine, run with Debian's Java 17), and jsonld.js from npm. Idempotent: installs only what is missing. Needs root or sudo.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

need=()
command -v rapper >/dev/null 2>&1 || need+=(raptor2-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v virtuoso-t >/dev/null 2>&1 || need+=(virtuoso-opensource)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openrefine >/dev/null 2>&1 || need+=(openrefine)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -f tests/js/package.json ] && [ ! -d tests/js/node_modules ]; then
  echo "installing npm packages for tests/js"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
