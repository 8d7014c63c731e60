#!/usr/bin/env bash
# Runs the signal bench (same arguments as `npm run bench:signal`) inside a qemu VM on this machine,
# for the one thing the host cannot give a process: an open-file limit above its hard cap (20,000
# here, with no CAP_SYS_RESOURCE), so one node can hold 20,000 sockets. The guest boots Debian's
# kernel with the host's root mounted read-only over 9p (the same Node.js, the same build; the
# guest can read everything the host can) and reaches the host's Redis, and a FerretDB started
# here on a scratch PostgreSQL database, as 10.0.2.2. Without KVM the guest is emulated (TCG, ~20x
# slower here): its latencies and CPU are not the product's; sockets held and RSS per socket are.
# Pass --time-scale 10 or so to the bench. JSON report on stdout, the bench's log on stderr, the
# guest's console in the output folder while it runs. Needs: PostgreSQL on this host's loopback
# reachable without a password, `node dist/scripts/cli.js tools` (FerretDB), `npm run build`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/bench-vm"
"$ROOT/bench/vm/build.sh"
[ -f "$ROOT/dist/bench/signal-bench.js" ] || { echo 'run `npm run build` first' >&2; exit 2; }
FERRETDB="$ROOT/.cache/bin/ferretdb"
[ -x "$FERRETDB" ] || { echo 'no FerretDB: run `node dist/scripts/cli.js tools` first' >&2; exit 2; }

PG_HOST=${TEST_PG_HOST:-127.0.0.1} PG_PORT=${TEST_PG_PORT:-5432} PG_USER=${TEST_PG_USER:-postgres}
PG_ARGS=(-h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -w)
db="vidivo_vmbench_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
out=$(mktemp -d)
db_made= ferret= tail_pid= qemu=
cleanup() {
  for pid in $qemu $tail_pid $ferret; do kill "$pid" 2>/dev/null || true; done
  [ -n "$qemu" ] && wait "$qemu" 2>/dev/null || true
  [ -n "$ferret" ] && wait "$ferret" 2>/dev/null || true
  [ -n "$db_made" ] && { dropdb "${PG_ARGS[@]}" --force "$db" 2>/dev/null || true; }
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

createdb "${PG_ARGS[@]}" "$db" && db_made=1
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# Its log holds the duplicate-key errors of idempotent inserts, which are expected.
"$FERRETDB" --listen-addr="127.0.0.1:$port" --handler=postgresql \
  --postgresql-url="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db" --telemetry=disable --log-level=error > "$out/ferretdb.log" 2>&1 &
ferret=$!
for _ in $(seq 100); do
  kill -0 "$ferret" 2>/dev/null || { echo 'FerretDB exited:' >&2; cat "$out/ferretdb.log" >&2; exit 1; }
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# The guest sees the host's loopback as 10.0.2.2, so services must listen there.
guest_redis=$(echo "${REDIS_URL:-redis://127.0.0.1:6379}" | sed -E 's#(//|@)(127\.0\.0\.1|localhost)([:/]|$)#\110.0.2.2\3#')
args=
for a in "$@"; do args+=" $(printf '%q' "$a")"; done
{
  echo "cd $(printf '%q' "$ROOT")"
  echo "{ uname -r; nproc; grep MemTotal /proc/meminfo; grep 'open files' /proc/self/limits; } > /mnt/guest.txt"
  echo "export MONGO_URL=$(printf '%q' "mongodb://10.0.2.2:$port/")"
  echo "export FERRETDB_POSTGRESQL_URL=$(printf '%q' "postgres://$PG_USER@10.0.2.2:$PG_PORT/$db")"
  echo "export REDIS_URL=$(printf '%q' "$guest_redis")"
  for name in BENCH_NODE_ARGS BENCH_NODE_ENV PGPASSWORD; do
    [ -n "${!name:-}" ] && echo "export $name=$(printf '%q' "${!name}")"
  done
  echo "node dist/bench/signal-bench.js$args > /mnt/bench.json 2> /mnt/bench.err"
  echo 'echo $? > /mnt/exit'
} > "$out/job.sh"
touch "$out/bench.err"
tail -f "$out/bench.err" >&2 &
tail_pid=$!

accel=tcg,thread=multi
[ -w /dev/kvm ] && accel=kvm
qemu-system-x86_64 -accel "$accel" -smp "$(nproc)" -m "${BENCH_VM_MEMORY:-12G}" -no-reboot \
  -display none -monitor none -serial "file:$out/console.log" \
  -kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.gz" -append "console=ttyS0 quiet panic=-1 vidivo.init=$ROOT/bench/vm/guest-init.sh" \
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=none" \
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0 < /dev/null > "$out/qemu.log" 2>&1 &
qemu=$!
wait "$qemu" || true
qemu=

sleep 1
echo "guest: $(tr '\n' ' ' < "$out/guest.txt" 2>/dev/null)" >&2
cat "$out/bench.json" 2>/dev/null || true
[ -f "$out/exit" ] || { echo 'the guest did not finish the bench; its console and qemu said:' >&2; tail -20 "$out/console.log" "$out/qemu.log" >&2; exit 1; }
exit "$(cat "$out/exit")"
