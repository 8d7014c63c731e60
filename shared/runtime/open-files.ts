import { readFileSync } from 'node:fs';

/** Soft and hard `Max open files` in the text of `/proc/<pid>/limits` (Infinity for unlimited); undefined when absent. */
export function parseOpenFileLimits(limits: string): { soft: number; hard: number } | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (!m) return undefined;
  const num = (s: string): number => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: num(m[1]!), hard: num(m[2]!) };
}

/** A process's open-file limits (this process by default); undefined where `/proc` does not say (not Linux). */
export function openFileLimits(pid: number | 'self' = 'self'): { soft: number; hard: number } | undefined {
  try {
    return parseOpenFileLimits(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  } catch {
    return undefined;
  }
}
