import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { SMTPServer } from 'smtp-server';
import { Secret, TOTP } from 'otpauth';
import { until } from '../../helpers/poll.js';

/** A message received by the test SMTP server, body decoded. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

function decodeQuotedPrintable(body: string): string {
  return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function parseMail(raw: string, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  let body = raw.slice(split + 4);
  const subject = /^Subject: (.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const encoding = /^Content-Transfer-Encoding: (.*)$/im.exec(headers)?.[1]?.trim().toLowerCase();
  if (encoding === 'quoted-printable') body = decodeQuotedPrintable(body);
  else if (encoding === 'base64') body = Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
  return { to, subject, text: body };
}

/** A real SMTP server on loopback that keeps every message it receives. */
export interface Mailbox {
  url: string;
  messages: ReceivedMail[];
  /** Waits (bounded poll) for a message to `to` whose subject contains `subject`. */
  waitFor(to: string, subject: string, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address.toLowerCase())));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, subject, timeoutMs = 10_000) {
      const found = await until(() => messages.find((m) => m.to.includes(to.toLowerCase()) && m.subject.includes(subject)), timeoutMs);
      return found;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `token` query parameter of the first link in a mail body. */
export function tokenFromMail(mail: ReceivedMail): string {
  const match = /[?&]token=([A-Za-z0-9_%-]+)/.exec(mail.text);
  if (!match) throw new Error(`no token link in mail "${mail.subject}"`);
  return decodeURIComponent(match[1]!);
}

/** A local OpenID provider: serves a JWKS over HTTP and signs ID tokens with its own RSA key. */
export interface FakeProvider {
  jwksUrl: string;
  issuer: string;
  clientId: string;
  requests: number;
  sign(claims: Record<string, unknown>, options?: { kid?: string; expSec?: number; aud?: string; iss?: string }): Promise<string>;
  /** Replaces the signing key (new kid) — the verifier must refetch the JWKS. */
  rotate(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProvider(issuer: string, clientId: string): Promise<FakeProvider> {
  let current = await newKey();
  const keys: JWK[] = [current.jwk];
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    jwksUrl: `http://127.0.0.1:${port}/certs`, issuer, clientId,
    get requests() { return state.requests; },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? current.kid })
        .setIssuer(options.iss ?? issuer).setAudience(options.aud ?? clientId)
        .setIssuedAt(now - 10).setExpirationTime(now + (options.expSec ?? 3600))
        .sign(current.privateKey);
    },
    async rotate() {
      current = await newKey();
      keys.push(current.jwk);
    },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

let keyCounter = 0;
async function newKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  keyCounter += 1;
  const kid = `test-key-${keyCounter}-${Date.now()}`;
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** The TOTP code of `secret` at `timestamp` (ms), as an authenticator app computes it. */
export function totpCode(secret: string, timestamp = Date.now()): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp });
}

/** JSON POST helper: status, parsed body and headers. */
export async function call(base: string, method: string, path: string, body?: unknown, bearer?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers['Authorization'] = `Bearer ${bearer}`;
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
