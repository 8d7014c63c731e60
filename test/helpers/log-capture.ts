import { createLogger, type Logger } from '../../shared/runtime/logger.js';

/** A debug-level logger whose JSON lines are kept in `lines`, for tests that check what was logged. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug' }, { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream);
  return { log, lines };
}
