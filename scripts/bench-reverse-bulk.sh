#!/bin/bash
# Stack → Linux bulk, the reverse of ../shared/bench's bulk shape: the bench's kernel sink
# (build/ksrv) listens on the kernel side of the TAP, `tcpip bulk` sends 64 KiB writes for 5 s,
# half-closes and waits for the sink's FIN. Three runs. As root, after the bench's setup.sh:
#   BENCH=/tmp/bench TCPIP=.build/release/tcpip scripts/bench-reverse-bulk.sh
#   PIN="taskset -c 1" … pins the stack to CPU 1.
set -u
BENCH=${BENCH:-/tmp/bench}
source "$BENCH/netns.sh"
NS=tcpip-rb-$$
trap 'stop_pid ${KPID:-}; ns_del $NS' EXIT
ns_new $NS
ns_add_tap $NS tap0 10.99.0.1/24
ip netns exec $NS $BENCH/build/ksrv 10.99.0.1 5001 5002 >/dev/null 2>&1 &
KPID=$!
sleep 0.3
for i in 1 2 3; do
  ip netns exec $NS ${PIN:-} ${TCPIP:-.build/release/tcpip} bulk --tap tap0 --address 10.99.0.2/24 --to 10.99.0.1:5001 --seconds ${SECS:-5} 2>&1
done
