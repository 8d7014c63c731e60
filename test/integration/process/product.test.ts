import { connect } from 'node:net';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyFile, loadKeyRing, signToken } from '../../../shared/tokens/index.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { scratchDir } from '../../helpers/scratch.js';

/** Attempts a WebSocket upgrade and reports the HTTP status or the opened socket. */
function upgrade(url: string, protocols?: string[]): Promise<{ status?: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => { resolve({ status: res.statusCode }); res.resume(); });
    ws.once('error', (err) => { if (!('statusCode' in err)) reject(err); });
  });
}

describe('npm start (all mode, embedded database)', () => {
  let product: ProductProcess;
  let api: string;
  let signal: string;
  const dataDir = scratchDir('vidivo-product');
  const keysDir = join(dataDir, 'keys');

  beforeAll(async () => {
    generateKeyFile(keysDir);
    product = await startProductProcess('all', { DATA_DIR: dataDir, SHUTDOWN_TIMEOUT_MS: '8000' });
    api = `http://127.0.0.1:${product.apiPort}`;
    signal = `ws://127.0.0.1:${product.signalPort}`;
  }, 180000);

  afterAll(async () => {
    if (product.child.exitCode === null) { product.kill('SIGKILL'); await product.exited; }
  });

  it('resolves the embedded database and says which and why', () => {
    const chosen = product.logs.find((l) => l['msg'] === 'database chosen');
    expect(chosen).toBeDefined();
    expect(['mongod', 'ferretdb', 'ferretdb-built', 'mongodb-memory-server']).toContain(chosen!['source']);
    expect(String(chosen!['reason'])).not.toBe('');
  });

  it('answers GET /health-check with 200', async () => {
    const res = await fetch(`${api}/health-check`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, data: { status: 'ok' } });
  });

  it('serves /openapi.json as a valid OpenAPI 3.1 document', async () => {
    const doc = (await (await fetch(`${api}/openapi.json`)).json()) as Record<string, unknown>;
    expect(doc['openapi']).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc['paths'] as object)).toContain('/health-check');
  });

  it('refuses an upgrade without a token with HTTP 401 on every WebSocket route', async () => {
    for (const path of ['/signal/ws', '/ws', '/v1/chat/ws']) {
      expect((await upgrade(`${signal}${path}`)).status).toBe(401);
    }
  });

  it('refuses bad, wrong-audience and forged tokens with 401', async () => {
    const ring = loadKeyRing(keysDir, { generateIfEmpty: false });
    const access = await signToken(ring, { role: 'user', email: 'a@b.co' }, { issuer: 'api.vidivo.app', audience: 'api', subject: 'u1', ttlSec: 60 });
    const otherRing = loadKeyRing(join(dataDir, 'other-keys'), { generateIfEmpty: true });
    const forged = await signToken(otherRing, { role: 'host', call_id: 'c1', peer: 'host' }, { issuer: 'api.vidivo.app', audience: 'signal', subject: 'u1', ttlSec: 60 });
    expect((await upgrade(`${signal}/signal/ws?token=not-a-jwt`)).status).toBe(401);
    expect((await upgrade(`${signal}/signal/ws?token=${access.token}`)).status).toBe(401);
    expect((await upgrade(`${signal}/signal/ws?token=${forged.token}`)).status).toBe(401);
    expect((await upgrade(`${signal}/v1/chat/ws`, ['vidivo.v1', `bearer.${forged.token}`])).status).toBe(401);
  });

  it('accepts a valid token by query or subprotocol', async () => {
    const ring = loadKeyRing(keysDir, { generateIfEmpty: false });
    const access = await signToken(ring, { role: 'user', email: 'a@b.co' }, { issuer: 'api.vidivo.app', audience: 'api', subject: 'u1', ttlSec: 60 });
    const viaQuery = await upgrade(`${signal}/v1/chat/ws?token=${access.token}`);
    expect(viaQuery.ws?.readyState).toBe(WebSocket.OPEN);
    viaQuery.ws!.close();
    const viaProtocol = await upgrade(`${signal}/v1/chat/ws`, ['vidivo.v1', `bearer.${access.token}`]);
    expect(viaProtocol.ws?.protocol).toBe('vidivo.v1');
    viaProtocol.ws!.close();
  });

  it('shuts down gracefully on SIGTERM: in-flight response completes, sockets get 4000, exit 0', async () => {
    const ring = loadKeyRing(keysDir, { generateIfEmpty: false });
    const access = await signToken(ring, { role: 'user' }, { issuer: 'api.vidivo.app', audience: 'api', subject: 'u2', ttlSec: 60 });
    const { ws } = await upgrade(`${signal}/v1/chat/ws?token=${access.token}`);
    const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));

    // A large response read slowly stays in flight across the SIGTERM.
    const socket = connect({ host: '127.0.0.1', port: product.apiPort! });
    await new Promise((r) => socket.once('connect', r));
    let received = Buffer.alloc(0);
    const firstChunk = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.on('data', (chunk: Buffer) => { received = Buffer.concat([received, chunk]); });
    socket.write('GET /docs/assets/swagger-ui-bundle.js HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await firstChunk;
    socket.pause();

    product.kill('SIGTERM');
    expect(await closed).toBe(4000);
    await new Promise((r) => setTimeout(r, 200));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.resume();
    await ended;
    const text = received.toString('latin1');
    const headerEnd = text.indexOf('\r\n\r\n');
    const length = Number(/content-length: (\d+)/i.exec(text.slice(0, headerEnd))![1]);
    expect(text.slice(0, 12)).toBe('HTTP/1.1 200');
    expect(received.length - (headerEnd + 4)).toBe(length);

    const exit = await product.exited;
    expect(exit.code).toBe(0);
    expect(product.logs.some((l) => l['msg'] === 'stopped')).toBe(true);
  }, 30000);
});

describe('configuration errors stop the process', () => {
  it('exits 2 listing every wrong variable', async () => {
    const failing = startProductProcess('all', { API_PORT: 'eighty', LOG_LEVEL: 'loud' }, 20000);
    await expect(failing).rejects.toThrow(/exited with 2/);
    const message = String(await failing.catch((e: Error) => e.message));
    expect(message).toContain('API_PORT');
    expect(message).toContain('LOG_LEVEL');
  });
});
