import type { Logger } from 'pino';
import type { Mailer, MailMessage } from '../mail/index.js';

/** Sends mail in the background: the request does not wait for SMTP, and a failure is only logged. */
export function deliverer(mailer: Mailer, log: Logger): (message: MailMessage) => void {
  return (message) => {
    mailer.send(message).catch((err: unknown) => log.error({ err, subject: message.subject }, 'mail delivery failed'));
  };
}
