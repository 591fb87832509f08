#!/usr/bin/env bash
# Installs everything tandem needs on a fresh Debian 12 machine (run as root):
# the cluster stack and agents from Debian, then tandem itself in ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  corosync libcpg4 libquorum5 libvotequorum8 libcmap4
  resource-agents fence-agents apache2 iputils-arping iproute2 nftables procps psmisc curl
  util-linux libpam0g libpam-modules
  pacemaker-cli-utils pcs
  python3-venv
  iputils-ping
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's packages start nothing here (no systemd); make sure nothing of theirs
# is left enabled to compete with tandem on a real machine either.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/tandem --version >/dev/null
echo "setup: done ($(.venv/bin/tandem --version))"
