/** A dependency probe for readiness: resolves when healthy, rejects or times out otherwise. */
export interface ReadinessProbe {
  name: string;
  /** Required dependencies make the service unready when down; optional ones only degrade it. */
  required: boolean;
  check(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2000;

/** `up` when the probe resolves within the timeout, else `down`. */
export async function runProbe(probe: ReadinessProbe): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.check(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS); }),
    ]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
