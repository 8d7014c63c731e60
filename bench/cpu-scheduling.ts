/**
 * Where and at what priority the bench runs its processes: CPU affinity (`taskset`), niceness
 * (`nice`) and the SCHED_IDLE policy (`chrt`).
 */
import { execFileSync } from 'node:child_process';
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
