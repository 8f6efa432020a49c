#!/bin/bash
# Soak: mixed load over TAP against `tcpip serve` for MINUTES minutes, with a 1 % fault
# injector (loss, duplication, reordering, corruption), sampling the stack's RSS and
# connection count every 10 s. As root (it makes its own network namespace and deletes it,
# even on failure). Not a CI test.
#
#   scripts/soak.sh MINUTES            (TCPIP= names the binary; default .build/release/tcpip)
#
# Load, from python3 inside the namespace (scripts/soak/load.py): bulk both ways through the
# echo service with every byte verified, request/response on a persistent connection,
# connect/close churn, UDP echo with payloads verified, and pings. Prints one line per
# sample and a summary: RSS over the first and last 5 minutes, errors, bytes verified.
set -euo pipefail
MINUTES=${1:?usage: scripts/soak.sh MINUTES}
[[ $MINUTES =~ ^[0-9]+$ ]] && (( MINUTES >= 1 && MINUTES <= 1440 )) || { echo "soak: MINUTES must be 1…1440" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak: needs root (network namespace, TAP)" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
TCPIP=${TCPIP:-$HERE/../.build/release/tcpip}
[ -x "$TCPIP" ] || { echo "soak: no binary at $TCPIP (swift build -c release, or set TCPIP=)" >&2; exit 2; }
NS=tcpip-soak-$$
DIR=$(mktemp -d /tmp/tcpip-soak-XXXXXX)
STACK_PID=
cleanup() {
    set +e  # every step runs, whatever the one before it did
    if [ -n "$STACK_PID" ] && kill "$STACK_PID" 2>/dev/null; then sleep 1; kill -9 "$STACK_PID" 2>/dev/null; fi
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add 10.99.0.1/24 dev tap0
ip -n "$NS" link set tap0 up
ip netns exec "$NS" "$TCPIP" serve --tap tap0 --address 10.99.0.2/24 --mac 02:00:5e:99:00:02 \
    --tcp-echo 7 --udp-echo 7 --control "$DIR/control.sock" \
    --loss 0.25% --duplicate 0.25% --reorder 0.25% --corrupt 0.25% --fault-seed 1 \
    >"$DIR/stack.out" 2>"$DIR/stack.err" &
STACK_PID=$!
for _ in $(seq 100); do grep -q ready "$DIR/stack.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$DIR/stack.out" || { echo "soak: the stack did not start:"; cat "$DIR/stack.err"; exit 1; }
echo "soak: $MINUTES min, stack pid $STACK_PID ($TCPIP), namespace $NS, faults 1 % (loss, dup, reorder, corrupt 0.25 % each)"
ip netns exec "$NS" python3 "$HERE/soak/load.py" 10.99.0.2 "$MINUTES" "$STACK_PID" "$DIR/control.sock"
