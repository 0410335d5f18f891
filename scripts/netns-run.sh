#!/usr/bin/env bash
# netns-run.sh CMD [ARG...]: run CMD in a fresh private network namespace that has loopback and a
# default route (a veth pair on TEST-NET-1 addresses, both ends inside the namespace), so that
# Chromium gathers ICE candidates. Nothing inside can reach any other host, and the namespace and
# everything in it disappear when CMD exits. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN).
#
# Exits 77 without running CMD when a namespace cannot be made here.
set -euo pipefail
if [[ $# -eq 0 ]]; then echo "usage: netns-run.sh CMD [ARG...]" >&2; exit 2; fi
if [[ ${NETNS_RUN_INSIDE:-} != 1 ]]; then
  if ! unshare --net true 2>/dev/null || ! command -v ip >/dev/null; then
    echo "netns-run.sh: cannot create a network namespace here (needs root, unshare and iproute2)" >&2
    exit 77
  fi
  exec unshare --net env NETNS_RUN_INSIDE=1 "$0" "$@"
fi
ip link set lo up
ip link add hg-veth0 type veth peer name hg-veth1
ip addr add 192.0.2.1/24 dev hg-veth0
ip addr add 192.0.2.2/24 dev hg-veth1
ip link set hg-veth0 up
ip link set hg-veth1 up
ip route add default via 192.0.2.2 dev hg-veth0
exec "$@"
