#!/bin/sh
# Install the Debian/Ubuntu packages one purpose needs, with apt, as root; do nothing (and need no
# network) when they are all there already. `make setup` and `make test` call it.
#   usage: tools/system-packages.sh PURPOSE...     (control, test)
# Only what the make targets themselves need is here: the playbooks install what a swarm node needs
# (Docker, iptables, debootstrap...) and what the runtime image's wheelhouse needs to build, where it is
# really needed and on every node of an inventory, not only on this machine.
set -eu

packages() {
  case $1 in
    # The control venv: Python's venv module and pip's HTTPS.
    control) echo python3 python3-venv ca-certificates ;;
    # The suite's own tools (user-mode Linux with NetEm, the store and broker the node tests run,
    # the report's browser, `vagrant validate`).
    test) echo user-mode-linux kmod iproute2 iptables redis-server mosquitto debootstrap chromium vagrant ;;
    *) echo "tools/system-packages.sh: unknown purpose '$1' (valid: control, test)" >&2; exit 2 ;;
  esac
}

wanted=""
for purpose in "$@"; do wanted="$wanted $(packages "$purpose")"; done

missing=""
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages:$missing. Install them (apt-get install$missing) or run make as root." >&2
  exit 1
fi
echo "Installing system packages:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
