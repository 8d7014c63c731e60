/**
 * Where and at what priority the bench runs its processes: CPU affinity (`taskset`), niceness
 * (`nice`), the SCHED_IDLE and SCHED_BATCH policies (`chrt`) and EEVDF slices (`sched_setattr`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { statFields } from './proc-stats.js';

/**
 * `command` run through nice(1) at niceness `nice` (as it is for 0), so every thread the process
 * starts has that niceness: `[file, args]` for `spawn`.
 */
export function niced(command: readonly string[], nice: number): [string, string[]] {
  return nice === 0 ? [command[0]!, command.slice(1)] : ['nice', ['-n', String(nice), ...command]];
}

/**
 * `command` run under SCHED_IDLE through chrt(1): it gets a CPU only when no normal task wants one,
 * and a normal task that wakes takes the CPU from it at once. Niceness does not apply to it.
 */
export function idleScheduled(command: readonly string[]): [string, string[]] {
  return ['chrt', ['--idle', '0', ...command]];
}

/**
 * `command` run under SCHED_BATCH through chrt(1), at niceness `nice`: it keeps its share of the
 * CPU but, when it wakes, does not preempt a normal task that is running; it waits for that
 * task's slice to end instead.
 */
export function batchScheduled(command: readonly string[], nice: number): [string, string[]] {
  const [file, args] = niced(command, nice);
  return ['chrt', ['--batch', '0', file, ...args]];
}

/** The scheduling policy of a running process (`/proc/<pid>/stat`, field 41): 'normal', 'idle', … */
export function policyOf(pid: number): string {
  const policy = Number(statFields(pid)[38]);
  return ['normal', 'fifo', 'rr', 'batch', 'iso', 'idle', 'deadline'][policy] ?? String(policy);
}

/** The niceness of a running process (`/proc/<pid>/stat`, field 19). */
export function niceOf(pid: number): number {
  return Number(statFields(pid)[16]);
}

/** CPU lists for `taskset`: the nodes on CPU 0, everything else the bench drives on the rest. */
export interface CpuSplit {
  nodes: string;
  others: string;
}

/** The split `--pin` uses; undefined on a one-CPU machine (nothing to split). */
export function cpuSplit(): CpuSplit | undefined {
  const n = cpus().length;
  if (n < 2) return undefined;
  return { nodes: '0', others: n === 2 ? '1' : `1-${n - 1}` };
}

/** The CPU list a process may run on now (`taskset -cp`), to restore it later. */
export function affinityOf(pid: number): string {
  const out = execFileSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' });
  return out.slice(out.lastIndexOf(':') + 1).trim();
}

/** Restricts every thread of `pid` to `cpuList` (threads it starts later inherit it). */
export function pin(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-cp', cpuList, String(pid)], { stdio: 'ignore' });
}

/** The kernel's bounds on a custom EEVDF slice (`sched_setattr`, Linux 6.12 and later). */
export const SLICE_MIN_US = 100;
export const SLICE_MAX_US = 100_000;

/**
 * Gives every thread of `pid` an EEVDF slice of `sliceUs` µs, or the kernel's default for 0
 * (`sched_setattr` with `sched_runtime`, Linux 6.12 and later), keeping each thread's niceness;
 * threads it starts later inherit it. Niceness sets a process's share of a contended CPU; the slice sets how soon it runs
 * once woken: a waking task's virtual deadline is its slice scaled by its weight, so at niceness 10
 * the default slice (1.4 ms here) puts it ~13 ms behind a niceness-0 task, and a 0.1 ms slice
 * under 1 ms. Done through perl's `syscall` (perl-base is on every Debian), since Node cannot make
 * the call and chrt(1) only learned it in util-linux 2.41.
 */
export function setSlice(pid: number, sliceUs: number): void {
  const threads = readdirSync(`/proc/${pid}/task`).map((tid) => `${tid}:${statFields(Number(tid))[16]}`);
  const call = SCHED_SETATTR[process.arch];
  if (call === undefined) throw new Error(`sched_setattr: no system call number known for ${process.arch}`);
  execFileSync('perl', ['-e', SET_SLICE_PL, String(call), String(sliceUs * 1000), ...threads], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const SCHED_SETATTR: Partial<Record<string, number>> = { x64: 314, arm64: 274 };

/** argv: the system call's number, the slice in ns (0: the kernel's default), then tid:nice pairs. struct sched_attr version 0 (48 bytes), SCHED_OTHER. */
const SET_SLICE_PL = `
my ($call, $ns, @threads) = @ARGV;
for (@threads) {
  my ($tid, $nice) = split /:/;
  my $attr = pack('LLQlLQQQ', 48, 0, 0, $nice, 0, $ns, 0, 0);
  syscall($call + 0, $tid + 0, $attr, 0) == 0 or die "sched_setattr($tid): $!\\n";
}`;

/** The EEVDF slice of a running process's main thread in µs (`/proc/<pid>/sched`), undefined if not shown. */
export function sliceOf(pid: number): number | undefined {
  const match = /^se\.slice\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'));
  return match ? Number(match[1]) / 1000 : undefined;
}
