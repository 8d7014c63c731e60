import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  level: string;
  pretty?: boolean;
}

/**
 * Creates the process root logger: JSON lines on stdout, secrets redacted by path.
 * Components take `root.child({ component: 'x' })`; connections add `conn`, `call`, `peer`.
 */
export function createLogger(config: LoggerConfig, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password', '*.password', 'token', '*.token', 'access_token', 'refresh_token',
        'req.headers.authorization', 'headers.authorization', 'sdp', '*.sdp',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
