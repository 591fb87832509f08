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

# The management daemon is enabled on install (pcsd's convention). "Enabled" is
# tandem's own marker, read by the lab's node init and by the systemd units;
# with systemd running, install the units (pointing at this checkout's venv)
# and start tandemd-api now. Without systemd (containers, CI) nothing is started.
mkdir -p /etc/tandem/enabled
touch /etc/tandem/enabled/api
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  venv_bin="$(pwd)/.venv/bin"
  sed "s|^ExecStart=.*|ExecStart=${venv_bin}/tandemd-api|" tandem/api/tandemd-api.service \
    > /etc/systemd/system/tandemd-api.service
  sed -e "s|/usr/bin/env tandem|${venv_bin}/tandem|" tandem/daemon/tandem-cluster.service \
    > /etc/systemd/system/tandem-cluster.service
  systemctl daemon-reload
  systemctl enable --now tandemd-api.service >/dev/null 2>&1 || echo "setup: could not start tandemd-api (see journalctl -u tandemd-api)"
  systemctl enable tandem-cluster.service >/dev/null 2>&1 || true
  echo "setup: tandemd-api enabled and started (systemd)"
fi
