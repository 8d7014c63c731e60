/** One outgoing plain-text message. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail; implementations: SMTP (smtp-mailer.ts) and the development log (log-mailer.ts). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}
