#!/usr/bin/env bash
# Runs the signal bench (same arguments as `npm run bench:signal`) inside a qemu VM on this machine,
# for the one thing the host cannot give a process: an open-file limit above its hard cap (20,000
# here, with no CAP_SYS_RESOURCE), so one node can hold 20,000 sockets. The guest boots a Debian
# kernel with the host's root mounted read-only over 9p (the same Node.js, the same build) and
# reaches the host's Redis, and a FerretDB started here on a scratch PostgreSQL database, as
# 10.0.2.2. Without KVM the guest is emulated (TCG, ~20x slower here): its latencies and CPU are
# not the product's; sockets held and RSS per socket are. Pass --time-scale 10 or so to the bench.
# JSON report on stdout, the bench's log on stderr.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/bench-vm"
"$ROOT/bench/vm/build.sh"
[ -f "$ROOT/dist/bench/signal-bench.js" ] || { echo 'run `npm run build` first' >&2; exit 2; }
FERRETDB="$ROOT/.cache/bin/ferretdb"
[ -x "$FERRETDB" ] || { echo 'no FerretDB: run `node dist/scripts/cli.js tools` first' >&2; exit 2; }

PG_ARGS=(-h "${TEST_PG_HOST:-127.0.0.1}" -p "${TEST_PG_PORT:-5432}" -U "${TEST_PG_USER:-postgres}" -w)
db="vidivo_vmbench_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
createdb "${PG_ARGS[@]}" "$db"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
out=$(mktemp -d)
# Its log holds the duplicate-key errors of idempotent inserts, which are expected.
"$FERRETDB" --listen-addr="127.0.0.1:$port" --handler=postgresql \
  --postgresql-url="postgres://${TEST_PG_USER:-postgres}@127.0.0.1:${TEST_PG_PORT:-5432}/$db" --telemetry=disable --log-level=error > "$out/ferretdb.log" 2>&1 &
ferret=$!
tail_pid=
cleanup() {
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
  kill "$ferret" 2>/dev/null || true
  wait "$ferret" 2>/dev/null || true
  dropdb "${PG_ARGS[@]}" --force "$db" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

# The guest sees the host's loopback as 10.0.2.2.
guest_redis=$(echo "${REDIS_URL:-redis://127.0.0.1:6379}" | sed -E 's#//(127\.0\.0\.1|localhost)#//10.0.2.2#')
{
  echo "cd $(printf '%q' "$ROOT")"
  echo "{ uname -r; nproc; grep MemTotal /proc/meminfo; grep 'open files' /proc/self/limits; } > /mnt/guest.txt"
  echo "MONGO_URL=mongodb://10.0.2.2:$port/ FERRETDB_POSTGRESQL_URL=postgres://${TEST_PG_USER:-postgres}@10.0.2.2:${TEST_PG_PORT:-5432}/$db REDIS_URL=$guest_redis \\"
  echo "  node dist/bench/signal-bench.js $(printf '%q ' "$@") > /mnt/bench.json 2> /mnt/bench.err"
  echo 'echo $? > /mnt/exit'
} > "$out/job.sh"
touch "$out/bench.err"
tail -f "$out/bench.err" >&2 &
tail_pid=$!

accel=tcg,thread=multi
[ -w /dev/kvm ] && accel=kvm
qemu-system-x86_64 -accel "$accel" -smp "$(nproc)" -m "${BENCH_VM_MEMORY:-12G}" -nographic -no-reboot \
  -kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.gz" -append 'console=ttyS0 quiet panic=-1' \
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=none" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0 > "$out/console.log" 2>&1 || true

sleep 1
echo "guest: $(tr '\n' ' ' < "$out/guest.txt" 2>/dev/null)" >&2
cat "$out/bench.json" 2>/dev/null || true
[ -f "$out/exit" ] || { echo 'the guest did not finish the bench; console:' >&2; tail -20 "$out/console.log" >&2; exit 1; }
exit "$(cat "$out/exit")"
