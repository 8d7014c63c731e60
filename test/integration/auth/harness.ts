import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, startMailbox, startProvider, type FakeProvider, type Mailbox } from './support.js';

/** Rate limits high enough that functional tests never hit them (the spec table is tested separately). */
const RELAXED_LIMITS = JSON.stringify(Object.fromEntries(
  ['login', 'register', 'password_reset', 'authenticated', 'unauthenticated'].map((rule) => [rule, { points: 100000, durationSec: 60 }]),
));

export interface AuthHarness {
  t: TestApi;
  mailbox: Mailbox;
  google: FakeProvider;
  apple: FakeProvider;
  url: string;
  post(path: string, body?: unknown, bearer?: string): ReturnType<typeof call>;
  get(path: string, bearer?: string): ReturnType<typeof call>;
  del(path: string, bearer?: string): ReturnType<typeof call>;
  /** Registers an account and returns its register body. */
  register(email: string, password?: string): Promise<any>;
  stop(): Promise<void>;
}

/** The API with a real SMTP server, local Google/Apple JWKS servers and minimum argon2 cost. */
export async function startAuthHarness(options: { specLimits?: boolean; withRedis?: boolean; env?: Record<string, string> } = {}): Promise<AuthHarness> {
  const mailbox = await startMailbox();
  const google = await startProvider('https://accounts.google.com', 'google-client.apps.googleusercontent.com');
  const apple = await startProvider('https://appleid.apple.com', 'app.vidivo.ios');
  const t = await startTestApi({
    withRedis: options.withRedis ?? false,
    env: {
      ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', ARGON2_PARALLELISM: '1',
      SMTP_URL: mailbox.url, APP_PUBLIC_URL: 'https://app.example.test',
      GOOGLE_CLIENT_IDS: JSON.stringify([google.clientId]), GOOGLE_JWKS_URL: google.jwksUrl,
      APPLE_CLIENT_IDS: JSON.stringify([apple.clientId]), APPLE_JWKS_URL: apple.jwksUrl,
      ...(options.specLimits ? {} : { RATE_LIMITS: RELAXED_LIMITS }),
      ...options.env,
    },
  });
  const harness: AuthHarness = {
    t, mailbox, google, apple, url: t.url,
    post: (path, body, bearer) => call(t.url, 'POST', path, body, bearer),
    get: (path, bearer) => call(t.url, 'GET', path, undefined, bearer),
    del: (path, bearer) => call(t.url, 'DELETE', path, undefined, bearer),
    async register(email, password = 'SecureP@ssw0rd!') {
      const res = await harness.post('/v1/auth/register', { email, password, display_name: 'Test User' });
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async stop() {
      await t.stop();
      await Promise.all([mailbox.stop(), google.stop(), apple.stop()]);
    },
  };
  return harness;
}
