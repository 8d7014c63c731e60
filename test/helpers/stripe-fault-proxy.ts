import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does instead of (or around) forwarding a matching request. */
export type Fault =
  /** 402 `card_error` as Stripe sends for a declined card (`code` default `card_declined`). */
  | { kind: 'decline'; declineCode?: string; code?: string; message?: string }
  /** 402 `card_error`/`card_declined` as Stripe answers a refused incremental authorization. */
  | { kind: 'increment_refused' }
  /** This status with Stripe's `api_error` body (or `body` when given). */
  | { kind: 'status'; status: number; body?: unknown }
  /** Holds the request open without answering until the client gives up (or the proxy stops). */
  | { kind: 'timeout' }
  /** Forwards the request, then drops the connection instead of returning the answer. */
  | { kind: 'drop_after_forward' };

export interface FaultRule {
  /** HTTP method; any when omitted. */
  method?: string;
  /** Exact pathname (`/v1/payment_intents`) or a pattern tested against it. */
  path: string | RegExp;
  /** Further condition on the form-encoded request body (Stripe's v1 wire format). */
  when?: (form: URLSearchParams) => boolean;
  fault: Fault;
  /** How many matching requests get the fault; unlimited when omitted. */
  times?: number;
}

export interface FaultHandle {
  /** Requests that got this fault so far. */
  readonly hits: number;
  remove(): void;
}

export interface SeenRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  /** Status returned to the client; `undefined` when no answer was sent (timeout, drop). */
  status: number | undefined;
  fault: Fault['kind'] | undefined;
}

export interface StripeFaultProxy {
  /** Base URL for STRIPE_API_BASE. */
  readonly url: string;
  /** Every request seen, oldest first. */
  readonly requests: readonly SeenRequest[];
  inject(rule: FaultRule): FaultHandle;
  /** Removes every rule (requests seen are kept). */
  clear(): void;
  close(): Promise<void>;
}

interface ActiveRule extends FaultRule { hits: number }

function requestId(): string {
  return `req_${randomBytes(7).toString('hex')}`;
}

function cardError(fault: Extract<Fault, { kind: 'decline' | 'increment_refused' }>, path: string): Record<string, unknown> {
  const intent = /^\/v1\/payment_intents\/([^/]+)/.exec(path)?.[1];
  const declineCode = fault.kind === 'decline' ? (fault.declineCode ?? 'generic_decline') : 'generic_decline';
  return {
    error: {
      type: 'card_error',
      code: fault.kind === 'decline' ? (fault.code ?? 'card_declined') : 'card_declined',
      decline_code: declineCode,
      message: fault.kind === 'decline' && fault.message ? fault.message : 'Your card was declined.',
      doc_url: 'https://stripe.com/docs/error-codes/card-declined',
      request_log_url: 'https://dashboard.stripe.com/test/logs',
      ...(intent ? { payment_intent: { id: intent, object: 'payment_intent' } } : {}),
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Request-Id': requestId() });
  res.end(text);
}

/**
 * A real HTTP proxy in front of stripe-mock (`target`, e.g. `http://127.0.0.1:12111`): forwards
 * every request unchanged unless a rule matches, in which case it answers as Stripe does for a
 * decline / refused increment / server error, hangs (timeout), or forwards and then drops the
 * connection (the mutation happened, the client never learns it). Rules match by method, path
 * and optionally body; the first matching rule with hits left wins.
 */
export async function startStripeFaultProxy(target: string): Promise<StripeFaultProxy> {
  const upstream = new URL(target);
  const rules: ActiveRule[] = [];
  const requests: SeenRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, body: Buffer, onResponse: (status: number, headers: IncomingMessage['headers'], payload: Buffer) => void, onError: (err: Error) => void): void => {
    const out = httpRequest({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => onResponse(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
      res.on('error', onError);
    });
    out.on('error', onError);
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      const method = req.method ?? 'GET';
      const key = req.headers['idempotency-key'];
      const seen: SeenRequest = { method, path, idempotencyKey: typeof key === 'string' ? key : undefined, status: undefined, fault: undefined };
      requests.push(seen);
      const form = new URLSearchParams(method === 'GET' ? new URL(req.url ?? '/', 'http://proxy').search : body.toString('utf8'));
      const rule = rules.find((r) => (r.times === undefined || r.hits < r.times)
        && (!r.method || r.method.toUpperCase() === method)
        && (typeof r.path === 'string' ? r.path === path : r.path.test(path))
        && (!r.when || r.when(form)));
      if (rule) { rule.hits += 1; seen.fault = rule.fault.kind; }
      const fault = rule?.fault;
      switch (fault?.kind) {
        case 'decline':
        case 'increment_refused':
          seen.status = 402;
          sendJson(res, 402, cardError(fault, path));
          return;
        case 'status':
          seen.status = fault.status;
          sendJson(res, fault.status, fault.body ?? { error: { type: 'api_error', message: 'An unknown error occurred (injected).' } });
          return;
        case 'timeout':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case 'drop_after_forward':
          forward(req, body, () => req.socket.destroy(), () => req.socket.destroy());
          return;
        default:
          forward(req, body, (status, headers, payload) => {
            seen.status = status;
            const { connection: _c, 'transfer-encoding': _t, 'keep-alive': _k, ...rest } = headers;
            res.writeHead(status, { ...rest, 'content-length': String(payload.length) });
            res.end(payload);
          }, () => { seen.status = 502; sendJson(res, 502, { error: { type: 'api_error', message: 'stripe-mock unreachable' } }); });
      }
    });
  });
  server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject(rule) {
      const active: ActiveRule = { ...rule, hits: 0 };
      rules.push(active);
      return {
        get hits() { return active.hits; },
        remove() { const i = rules.indexOf(active); if (i >= 0) rules.splice(i, 1); },
      };
    },
    clear() { rules.length = 0; },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
