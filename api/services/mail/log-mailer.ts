import type { Logger } from 'pino';
import type { Mailer, MailMessage } from './mailer.js';

/**
 * Mail without an SMTP server. With `revealBody` (development only) the message, links
 * included, is logged so a developer can follow them; otherwise only the subject is logged.
 */
export class LogMailer implements Mailer {
  constructor(private readonly log: Logger, private readonly revealBody: boolean) {}

  async send(message: MailMessage): Promise<void> {
    if (this.revealBody) this.log.info({ to: message.to, subject: message.subject, body: message.text }, 'mail (not sent: no SMTP_URL)');
    else this.log.warn({ subject: message.subject }, 'mail dropped: SMTP_URL is not configured');
  }

  close(): void {}
}
