#!/usr/bin/env bash
# port-owner.sh PORT — if a program listens on TCP port PORT, prints which (its PID and
# command line, when this user may see them) and exits 0; exits 1 if the port is free.
# `make debug` asks it before starting QEMU's gdb stub: a QEMU left running by an earlier
# `make debug` keeps the port, and gdb would otherwise attach to that old kernel.
set -euo pipefail
port=$1
listeners=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
[[ -n $listeners ]] || exit 1
pids=$(grep -o 'pid=[0-9]*' <<<"$listeners" | cut -d= -f2 | sort -un || true)
if [[ -z $pids ]]; then
    echo "a process this user cannot see (as root, ss -ltnp 'sport = :$port' names it)"
    exit 0
fi
for pid in $pids; do
    command=$(tr '\0\n' '  ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160 || true)
    echo "PID $pid (${command% })"
done
