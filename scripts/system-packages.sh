#!/usr/bin/env bash
# Installs the Debian packages Jixiao needs outside Python, where they are missing and we are root:
#   pdf      CJK fonts and the HarfBuzz subsetter WeasyPrint needs for fast, embedded Chinese PDFs
#   postgres a PostgreSQL server for the PostgreSQL test run
#   browser  Chromium for the browser journeys
#   redis    a Redis server for the tests that run jobs through Celery workers
# Usage: scripts/system-packages.sh pdf [postgres] [browser] [redis]
set -eu
want=()
for group in "$@"; do
  case "$group" in
    pdf) want+=(fonts-wqy-microhei fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fontconfig) ;;
    postgres) want+=(postgresql) ;;
    browser) want+=(chromium) ;;
    redis) want+=(redis-server) ;;
    *) echo "unknown group: $group" >&2; exit 2 ;;
  esac
done
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages (install them as root): ${missing[*]}" >&2
  exit 0
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
