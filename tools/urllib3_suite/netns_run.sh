#!/bin/sh
# Run a command in private network and mount namespaces (needs root):
#   netns_run.sh HOSTS_FILE COMMAND [ARGS...]
# Only the loopback interface exists and it is up; 240.0.0.0/4 is routed to it so that
# connections to urllib3's TARPIT_HOST (240.0.0.0) time out instead of failing with
# "network unreachable"; HOSTS_FILE is bind-mounted over /etc/hosts inside the namespace
# only (so that localhost resolves to 127.0.0.1 and ::1, and "localhost." too).
set -eu
hosts=$1
shift
exec unshare --mount --net --propagation private sh -c '
    ip link set lo up &&
    ip route add 240.0.0.0/4 dev lo &&
    mount --bind "$0" /etc/hosts &&
    exec "$@"' "$hosts" "$@"
