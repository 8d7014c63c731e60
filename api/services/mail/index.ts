import type { Logger } from 'pino';
import { LogMailer } from './log-mailer.js';
import type { Mailer } from './mailer.js';
import { SmtpMailer } from './smtp-mailer.js';

export type { Mailer, MailMessage } from './mailer.js';
export * from './templates.js';

/** SMTP when `smtpUrl` is set; otherwise the log mailer (links shown only outside production). */
export function createMailer(options: { smtpUrl?: string; from: string; env: string; log: Logger }): Mailer {
  if (options.smtpUrl) return new SmtpMailer(options.smtpUrl, options.from);
  return new LogMailer(options.log, options.env !== 'production');
}
