import type { MailMessage } from './mailer.js';

function link(appUrl: string, path: string, token: string): string {
  return `${appUrl.replace(/\/+$/, '')}${path}?token=${encodeURIComponent(token)}`;
}

/** The verification mail; the token is the `token` query parameter of the link. */
export function verifyEmailMail(to: string, appUrl: string, token: string): MailMessage {
  return {
    to, subject: 'Verify your email address',
    text: `Welcome to Vidivo!\n\nConfirm your email address by opening this link (valid for 24 hours):\n\n${link(appUrl, '/verify-email', token)}\n\nIf you did not create an account, ignore this message.\n`,
  };
}

/** The password-reset mail. */
export function passwordResetMail(to: string, appUrl: string, token: string): MailMessage {
  return {
    to, subject: 'Reset your password',
    text: `Someone asked to reset the password of your Vidivo account.\n\nChoose a new password here (valid for 1 hour, usable once):\n\n${link(appUrl, '/reset-password', token)}\n\nIf it was not you, ignore this message; your password is unchanged.\n`,
  };
}

/** The confirmation mail sent to the new address of an email change. */
export function emailChangeMail(to: string, appUrl: string, token: string): MailMessage {
  return {
    to, subject: 'Confirm your new email address',
    text: `Confirm that this address should become the sign-in email of your Vidivo account (valid for 24 hours):\n\n${link(appUrl, '/confirm-email', token)}\n\nIf you did not ask for this, ignore this message.\n`,
  };
}

/** Notice to the old address that an email change was requested. */
export function emailChangeRequestedNotice(to: string): MailMessage {
  return {
    to, subject: 'Your email address is being changed',
    text: 'Someone signed in to your Vidivo account asked to change its email address. The change takes effect only when the new address confirms it.\n\nIf it was not you, reset your password now and review your account.\n',
  };
}

/** Notice to the old address once the change is confirmed. */
export function emailChangedNotice(to: string, newEmail: string): MailMessage {
  return {
    to, subject: 'Your email address was changed',
    text: `The sign-in email of your Vidivo account is now ${newEmail}.\n\nIf you did not do this, contact support immediately.\n`,
  };
}

/** Notice that the password was changed or reset. */
export function passwordChangedNotice(to: string): MailMessage {
  return {
    to, subject: 'Your password was changed',
    text: 'The password of your Vidivo account was just changed and your other sessions were signed out.\n\nIf you did not do this, reset your password now.\n',
  };
}
