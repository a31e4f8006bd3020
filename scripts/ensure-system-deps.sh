#!/usr/bin/env bash
# Install the system libraries the pipeline needs when they are missing (Debian/Ubuntu):
# Pango and HarfBuzz-subset for WeasyPrint (PDF rendering, font subsetting), a font, and venv.
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep 'libpango-1.0.so' >/dev/null || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep 'libpangoft2-1.0.so' >/dev/null || missing+=(libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep 'libharfbuzz-subset.so' >/dev/null || missing+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -i 'DejaVu Sans' >/dev/null || missing+=(fontconfig fonts-dejavu-core)
python3 -c 'import ensurepip, venv' 2>/dev/null >/dev/null || missing+=(python3-venv)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: please install ${missing[*]} (Pango, fonts, python3-venv) with your system's package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
