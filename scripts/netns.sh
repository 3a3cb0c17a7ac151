#!/bin/sh
# Runs "$@" inside a private, throw-away network namespace, so that WebRTC tests never send a
# packet beyond this machine:
#   - loopback (127.0.0.1, ::1) is brought up;
#   - a veth pair rs0 <-> rs1 gets 10.77.0.1/24 on rs0, because Chromium ignores loopback for ICE
#     unless told otherwise and needs a non-loopback interface to gather host candidates;
#   - there is no default route and no link to the host's namespace: nothing can leave.
# The namespace disappears when the command exits.
#
#   scripts/netns.sh node --test tests/webrtc/
#
# Needs root (or CAP_SYS_ADMIN) for `unshare -n`; refuses clearly otherwise.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: $0 command [args...]" >&2
  exit 2
fi
if ! command -v unshare >/dev/null 2>&1; then
  echo "$0: 'unshare' (util-linux) is not installed; cannot create a private network namespace" >&2
  exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
  echo "$0: 'ip' (iproute2) is not installed; cannot configure the private network namespace" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "$0: must run as root (unshare -n needs CAP_SYS_ADMIN); refusing to run WebRTC outside a private namespace" >&2
  exit 1
fi

# The inner shell configures the namespace, then replaces itself with the command, so signals and
# the exit status pass straight through.
exec unshare --net -- sh -c '
  set -e
  ip link set lo up
  ip link add rs0 type veth peer name rs1
  ip addr add 10.77.0.1/24 dev rs0
  ip link set rs0 up
  ip link set rs1 up
  export ROOMSYNC_NETNS=1
  exec "$@"
' netns-sh "$@"
