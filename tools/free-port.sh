#!/usr/bin/env bash
# free-port.sh [PREFERRED] — prints PREFERRED if nothing listens on it on 127.0.0.1,
# otherwise a free port picked at random below Linux's ephemeral range.
set -euo pipefail
in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
if [[ -n ${1:-} ]] && ! in_use "$1"; then echo "$1"; exit 0; fi
for port in $(shuf -i 20000-32000 -n 100); do
    in_use "$port" || { echo "$port"; exit 0; }
done
echo "free-port: no free port found" >&2
exit 1
