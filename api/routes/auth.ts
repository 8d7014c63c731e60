import type { AppContext } from '../http/context.js';
import { defineRoutes, type JsonSchema, type RouteSpec } from '../http/route.js';
import { MESSAGES, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type AuthServices, type RequestMeta } from '../services/auth/index.js';
import { SELF_VIEW_SCHEMA } from '../services/user-view.js';

const NO_CONTROL_CHARS = '^[^\\u0000-\\u001f\\u007f]*$';
const EMAIL = { type: 'string', format: 'email', maxLength: 254 } as const;
const NEW_PASSWORD = { type: 'string', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH } as const;
const ANY_PASSWORD = { type: 'string', minLength: 1, maxLength: PASSWORD_MAX_LENGTH } as const;
const DISPLAY_NAME = { type: 'string', minLength: 1, maxLength: 80, pattern: NO_CONTROL_CHARS } as const;
const OPAQUE_TOKEN = { type: 'string', minLength: 1, maxLength: 512 } as const;
const ID_TOKEN = { type: 'string', minLength: 1, maxLength: 8192 } as const;
const CODE = { type: 'string', minLength: 6, maxLength: 32, description: 'A 6-digit TOTP code or a backup code (xxxx-xxxx-xxxx-xxxx).' } as const;

function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { type: 'object', additionalProperties: false, required, properties };
}

const MESSAGE_SCHEMA = object({ message: { type: 'string' } }, ['message']);
const TOKEN_PAIR_SCHEMA = object({ access_token: { type: 'string' }, refresh_token: { type: 'string', pattern: '^rt_' }, expires_in: { const: 900 } }, ['access_token', 'refresh_token', 'expires_in']);
const AUTH_RESULT_SCHEMA = object({ user: SELF_VIEW_SCHEMA, access_token: { type: 'string' }, refresh_token: { type: 'string', pattern: '^rt_' }, expires_in: { const: 900 } }, ['user', 'access_token', 'refresh_token', 'expires_in']);
const MFA_SCHEMA = object({ mfa_required: { const: true }, mfa_token: { type: 'string', pattern: '^mfa_' }, expires_in: { const: 300 } }, ['mfa_required', 'mfa_token', 'expires_in']);
const LOGIN_RESULT_SCHEMA = { oneOf: [AUTH_RESULT_SCHEMA, MFA_SCHEMA] };
const CONNECTIONS_SCHEMA = object({
  connections: { type: 'array', items: object({ provider: { enum: ['password', 'google', 'apple'] }, linked: { type: 'boolean' } }, ['provider', 'linked']) },
}, ['connections']);
const BACKUP_CODES = { type: 'array', items: { type: 'string' }, minItems: 10, maxItems: 10 } as const;
const PROVIDER_PARAMS = object({ provider: { enum: ['google', 'apple'] } }, ['provider']);

function meta(ctx: AppContext): RequestMeta {
  return { ip: ctx.state.clientIp, requestId: ctx.state.requestId };
}

function body<T>(ctx: AppContext): T {
  return ctx.state.body as T;
}

/** `/v1/auth/*` answers are bare JSON objects exactly as spec 004 shows (no success envelope). */
function send(ctx: AppContext, payload: unknown, status = 200): void {
  ctx.status = status;
  ctx.body = payload;
}

function userId(ctx: AppContext): string {
  return ctx.state.principal!.userId;
}

/** The auth services the routes call. */
export type AuthRouteServices = Pick<AuthServices, 'accounts' | 'login' | 'sessions' | 'totp' | 'security' | 'guests'>;

/** Every `/v1/auth/*` route: spec 004 (register … guest-session) and the account security of spec 003. */
export function authRoutes(auth: AuthRouteServices): RouteSpec[] {
  return defineRoutes([
    {
      method: 'POST', path: '/v1/auth/register', operationId: 'register', summary: 'Create an account; a verification email is sent.', tags: ['auth'],
      auth: 'none', rateLimit: 'register', errors: ['conflict'],
      body: object({ email: EMAIL, password: NEW_PASSWORD, display_name: DISPLAY_NAME }, ['email', 'password']),
      responses: { 201: { description: 'Account created and signed in.', schema: AUTH_RESULT_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.accounts.register(body(ctx), meta(ctx)), 201),
    },
    {
      method: 'POST', path: '/v1/auth/login', operationId: 'login', summary: 'Sign in with email and password.', tags: ['auth'],
      auth: 'none', rateLimit: 'login', errors: ['invalid_credentials'],
      body: object({ email: EMAIL, password: ANY_PASSWORD }, ['email', 'password']),
      responses: { 200: { description: 'Signed in, or (2FA enabled) an MFA challenge for POST /v1/auth/totp/verify.', schema: LOGIN_RESULT_SCHEMA } },
      handler: async (ctx) => {
        const { email, password } = body<{ email: string; password: string }>(ctx);
        send(ctx, await auth.login.login(email, password, meta(ctx)));
      },
    },
    {
      method: 'POST', path: '/v1/auth/refresh', operationId: 'refresh', summary: 'Rotate a refresh token for new tokens.', tags: ['auth'],
      auth: 'none', errors: ['invalid_token'],
      body: object({ refresh_token: OPAQUE_TOKEN }, ['refresh_token']),
      responses: { 200: { description: 'New token pair; the presented refresh token is dead.', schema: TOKEN_PAIR_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.sessions.refresh(body<{ refresh_token: string }>(ctx).refresh_token, meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/logout', operationId: 'logout', summary: 'Revoke the session of a refresh token.', tags: ['auth'],
      auth: 'none',
      body: object({ refresh_token: OPAQUE_TOKEN }, ['refresh_token']),
      responses: { 200: { description: 'Logged out (also for an unknown or already revoked token).', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.sessions.logout(body<{ refresh_token: string }>(ctx).refresh_token, meta(ctx));
        send(ctx, { message: MESSAGES.loggedOut });
      },
    },
    {
      method: 'POST', path: '/v1/auth/verify-email', operationId: 'verifyEmail', summary: 'Verify the email address with the mailed token.', tags: ['auth'],
      auth: 'none', errors: ['invalid_token'],
      body: object({ token: OPAQUE_TOKEN }, ['token']),
      responses: { 200: { description: 'Verified; role `user` becomes `verified_user` in the next access token.', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.accounts.verifyEmail(body<{ token: string }>(ctx).token, meta(ctx));
        send(ctx, { message: MESSAGES.verified });
      },
    },
    {
      method: 'POST', path: '/v1/auth/verify-email/resend', operationId: 'resendVerification', summary: 'Send a new verification email.', tags: ['auth'],
      auth: 'user', rateLimit: 'password_reset', errors: ['conflict'],
      responses: { 200: { description: 'A new link was sent; older ones no longer work.', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.accounts.resendVerification(userId(ctx));
        send(ctx, { message: 'verification email sent' });
      },
    },
    {
      method: 'POST', path: '/v1/auth/password/reset', operationId: 'requestPasswordReset', summary: 'Request a password reset email.', tags: ['auth'],
      auth: 'none', rateLimit: 'password_reset',
      body: object({ email: EMAIL }, ['email']),
      responses: { 200: { description: 'The same answer whether or not the account exists.', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.accounts.requestPasswordReset(body<{ email: string }>(ctx).email, meta(ctx));
        send(ctx, { message: MESSAGES.resetRequested });
      },
    },
    {
      method: 'POST', path: '/v1/auth/password/confirm', operationId: 'confirmPasswordReset', summary: 'Set a new password with the mailed token.', tags: ['auth'],
      auth: 'none', errors: ['invalid_token'],
      body: object({ token: OPAQUE_TOKEN, new_password: NEW_PASSWORD }, ['token', 'new_password']),
      responses: { 200: { description: 'Password reset; every session of the account is revoked.', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        const input = body<{ token: string; new_password: string }>(ctx);
        await auth.accounts.confirmPasswordReset(input.token, input.new_password, meta(ctx));
        send(ctx, { message: MESSAGES.resetDone });
      },
    },
    {
      method: 'POST', path: '/v1/auth/google', operationId: 'loginGoogle', summary: 'Sign in (or sign up) with a Google ID token.', tags: ['auth'],
      auth: 'none', rateLimit: 'login', errors: ['invalid_token', 'conflict'],
      body: object({ id_token: ID_TOKEN }, ['id_token']),
      responses: { 200: { description: 'Same as POST /v1/auth/login.', schema: LOGIN_RESULT_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.login.oauth('google', body<{ id_token: string }>(ctx).id_token, undefined, meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/apple', operationId: 'loginApple', summary: 'Sign in (or sign up) with an Apple identity token.', tags: ['auth'],
      auth: 'none', rateLimit: 'login', errors: ['invalid_token', 'conflict'],
      body: object({ id_token: ID_TOKEN, display_name: DISPLAY_NAME }, ['id_token']),
      responses: { 200: { description: 'Same as POST /v1/auth/login.', schema: LOGIN_RESULT_SCHEMA } },
      handler: async (ctx) => {
        const input = body<{ id_token: string; display_name?: string }>(ctx);
        send(ctx, await auth.login.oauth('apple', input.id_token, input.display_name, meta(ctx)));
      },
    },
    {
      method: 'POST', path: '/v1/auth/guest-session', operationId: 'createGuestSession', summary: 'Create a guest session (role `guest`, 24 h).', tags: ['auth'],
      auth: 'none',
      body: object({ display_name: DISPLAY_NAME }),
      responses: { 201: { description: 'Guest session.', schema: object({ guest_session_id: { type: 'string', pattern: '^gs_' }, access_token: { type: 'string' }, expires_in: { const: 86400 } }, ['guest_session_id', 'access_token', 'expires_in']) } },
      handler: async (ctx) => send(ctx, await auth.guests.create(body<{ display_name?: string }>(ctx).display_name, meta(ctx)), 201),
    },
    {
      method: 'POST', path: '/v1/auth/totp/setup', operationId: 'totpSetup', summary: 'Start 2FA setup: a new secret, otpauth URI and QR code.', tags: ['auth', '2fa'],
      auth: 'user', errors: ['conflict'],
      responses: { 200: { description: 'Pending secret; enable it with a code.', schema: object({ secret: { type: 'string' }, otpauth_url: { type: 'string', pattern: '^otpauth://totp/' }, qr_code: { type: 'string', pattern: '^data:image/png;base64,' } }, ['secret', 'otpauth_url', 'qr_code']) } },
      handler: async (ctx) => send(ctx, await auth.totp.setup(userId(ctx), meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/totp/enable', operationId: 'totpEnable', summary: 'Enable 2FA with a code from the authenticator.', tags: ['auth', '2fa'],
      auth: 'user', errors: ['invalid_credentials', 'conflict'],
      body: object({ code: CODE }, ['code']),
      responses: { 200: { description: 'Enabled; the 10 backup codes are shown once.', schema: object({ enabled: { const: true }, backup_codes: BACKUP_CODES }, ['enabled', 'backup_codes']) } },
      handler: async (ctx) => send(ctx, await auth.totp.enable(userId(ctx), body<{ code: string }>(ctx).code, meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/totp/verify', operationId: 'totpVerify', summary: 'Complete a 2FA login with a TOTP or backup code.', tags: ['auth', '2fa'],
      auth: 'none', rateLimit: 'login', errors: ['invalid_token', 'invalid_credentials'],
      body: object({ mfa_token: OPAQUE_TOKEN, code: CODE }, ['mfa_token', 'code']),
      responses: { 200: { description: 'Signed in (the login body).', schema: AUTH_RESULT_SCHEMA } },
      handler: async (ctx) => {
        const input = body<{ mfa_token: string; code: string }>(ctx);
        send(ctx, await auth.login.completeMfa(input.mfa_token, input.code, meta(ctx)));
      },
    },
    {
      method: 'GET', path: '/v1/auth/totp/status', operationId: 'totpStatus', summary: 'Whether 2FA is enabled and how many backup codes are left.', tags: ['auth', '2fa'],
      auth: 'user',
      responses: { 200: { description: 'Status.', schema: object({ enabled: { type: 'boolean' }, backup_codes_remaining: { type: 'integer' } }, ['enabled', 'backup_codes_remaining']) } },
      handler: async (ctx) => send(ctx, await auth.totp.status(userId(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/totp/disable', operationId: 'totpDisable', summary: 'Disable 2FA (password or a code required).', tags: ['auth', '2fa'],
      auth: 'user', rateLimit: 'login', errors: ['invalid_credentials', 'conflict'],
      body: { ...object({ password: ANY_PASSWORD, code: CODE }), minProperties: 1, maxProperties: 1 },
      responses: { 200: { description: 'Disabled.', schema: object({ enabled: { const: false } }, ['enabled']) } },
      handler: async (ctx) => send(ctx, await auth.totp.disable(userId(ctx), body(ctx), meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/totp/backup-codes/regenerate', operationId: 'totpRegenerateBackupCodes', summary: 'Replace all backup codes (current TOTP code required).', tags: ['auth', '2fa'],
      auth: 'user', rateLimit: 'login', errors: ['invalid_credentials', 'conflict'],
      body: object({ code: CODE }, ['code']),
      responses: { 200: { description: 'The new codes, shown once; the old ones are dead.', schema: object({ backup_codes: BACKUP_CODES }, ['backup_codes']) } },
      handler: async (ctx) => send(ctx, await auth.totp.regenerate(userId(ctx), body<{ code: string }>(ctx).code, meta(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/password/change', operationId: 'changePassword', summary: 'Change the password; other sessions are signed out.', tags: ['auth'],
      auth: 'user', rateLimit: 'login', errors: ['invalid_credentials', 'conflict'],
      body: object({ current_password: ANY_PASSWORD, new_password: NEW_PASSWORD, refresh_token: { ...OPAQUE_TOKEN, description: 'The caller\'s own refresh token: its session is kept.' } }, ['current_password', 'new_password']),
      responses: { 200: { description: 'Changed.', schema: object({ message: { type: 'string' }, sessions_revoked: { type: 'integer' } }, ['message', 'sessions_revoked']) } },
      handler: async (ctx) => {
        const result = await auth.security.changePassword(userId(ctx), body(ctx), meta(ctx));
        send(ctx, { message: 'password changed successfully', ...result });
      },
    },
    {
      method: 'POST', path: '/v1/auth/email/change', operationId: 'requestEmailChange', summary: 'Change the email: a confirmation link goes to the new address.', tags: ['auth'],
      auth: 'user', rateLimit: 'password_reset', errors: ['invalid_credentials', 'conflict'],
      body: object({ new_email: EMAIL, password: { ...ANY_PASSWORD, description: 'Required when the account has a password.' } }, ['new_email']),
      responses: { 200: { description: 'Link sent to the new address; the old address is told.', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.security.requestEmailChange(userId(ctx), body(ctx), meta(ctx));
        send(ctx, { message: 'a confirmation link has been sent to the new email address' });
      },
    },
    {
      method: 'POST', path: '/v1/auth/email/confirm', operationId: 'confirmEmailChange', summary: 'Confirm an email change with the mailed token.', tags: ['auth'],
      auth: 'none', errors: ['invalid_token', 'conflict'],
      body: object({ token: OPAQUE_TOKEN }, ['token']),
      responses: { 200: { description: 'The new address is the sign-in email (verified).', schema: MESSAGE_SCHEMA } },
      handler: async (ctx) => {
        await auth.security.confirmEmailChange(body<{ token: string }>(ctx).token, meta(ctx));
        send(ctx, { message: 'email changed successfully' });
      },
    },
    {
      method: 'GET', path: '/v1/auth/connections', operationId: 'listConnections', summary: 'Sign-in methods of the account.', tags: ['auth'],
      auth: 'user',
      responses: { 200: { description: 'Password and each provider, linked or not.', schema: CONNECTIONS_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.security.connections(userId(ctx))),
    },
    {
      method: 'POST', path: '/v1/auth/connections/:provider', operationId: 'linkConnection', summary: 'Link a Google / Apple identity with its ID token.', tags: ['auth'],
      auth: 'user', rateLimit: 'login', errors: ['invalid_token', 'conflict'],
      params: PROVIDER_PARAMS,
      body: object({ id_token: ID_TOKEN }, ['id_token']),
      responses: { 200: { description: 'Linked.', schema: CONNECTIONS_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.security.link(userId(ctx), ctx.state.params!['provider'] as 'google' | 'apple', body<{ id_token: string }>(ctx).id_token, meta(ctx))),
    },
    {
      method: 'DELETE', path: '/v1/auth/connections/:provider', operationId: 'unlinkConnection', summary: 'Unlink a provider (not the last way to sign in).', tags: ['auth'],
      auth: 'user', errors: ['not_found', 'conflict'],
      params: PROVIDER_PARAMS,
      responses: { 200: { description: 'Unlinked.', schema: CONNECTIONS_SCHEMA } },
      handler: async (ctx) => send(ctx, await auth.security.unlink(userId(ctx), ctx.state.params!['provider'] as 'google' | 'apple', meta(ctx))),
    },
  ]);
}
