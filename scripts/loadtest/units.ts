const DURATION_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `1.5s`, `2m`, `1h` into milliseconds. A bare number is read in
 * `defaultUnit`. Throws a TypeError naming the text for anything else (negative, empty, unknown unit).
 */
export function parseDuration(text: string, defaultUnit: 'ms' | 's' = 'ms'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new TypeError(`"${text}" is not a duration (examples: 500ms, 2s, 1.5m)`);
  return Number(match[1]) * DURATION_UNITS[match[2] ?? defaultUnit]!;
}

/**
 * Parses a share such as `0.1%`, `5%` or `0.001` into a ratio in [0, 1]. Throws a TypeError for
 * anything else or a value above 100 %.
 */
export function parseRatio(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(text);
  if (!match) throw new TypeError(`"${text}" is not a ratio (examples: 0.1%, 5%, 0.02)`);
  const value = match[2] ? Number(match[1]) / 100 : Number(match[1]);
  if (value > 1) throw new TypeError(`"${text}" is more than 100%`);
  return value;
}

/** Formats milliseconds compactly for humans: `850µs`, `12.3ms`, `4.20s`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Formats a ratio as a percentage with enough digits to show 0.1 % thresholds. */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.01 ? 3 : 2)}%`;
}

/** Formats a byte count compactly for humans: `850 B`, `12.3 KiB`, `210 MiB`, `1.25 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(bytes < 100 * 1024 ** 2 ? 1 : 0)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
