import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/runtime/paths.js';
import { startProductProcess, type ProductProcess } from '../../helpers/product-process.js';
import { mongoUrl } from '../../helpers/services.js';
import { until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';

const h = useSignalHarness('tierisolation');
let product: ProductProcess;
let abuser: ChildProcess | undefined;

/** The settings of an `all` process on the harness's database and keys. */
const productEnv = () => ({ MONGO_URL: mongoUrl(), MONGO_DB: h.db.name, JWT_KEYS_DIR: h.keys.dir, SHUTDOWN_TIMEOUT_MS: '5000' });

beforeAll(async () => {
  product = await startProductProcess('all', {
    ...productEnv(),
    // The abuser stands for many addresses: rate limits would otherwise turn most of it away cheaply.
    RATE_LIMIT_EXEMPT_IPS: '["127.0.0.1"]',
  });
}, 90000);

afterAll(async () => {
  abuser?.kill('SIGKILL');
  product?.kill('SIGKILL');
  await product?.exited;
});

async function startAbuser(tokens: string[]): Promise<{ stop(): Promise<Record<string, any>> }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'test', 'fixtures', 'abuser.mjs')], {
    cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '', API_URL: `http://127.0.0.1:${product.apiPort}`, SIGNAL_URL: `ws://127.0.0.1:${product.signalPort}`,
      SIGNAL_PORT: String(product.signalPort), TOKENS: JSON.stringify(tokens), REST_WORKERS: '4', RAW: '200',
    },
  });
  abuser = child;
  const lines = createInterface({ input: child.stdout! });
  const [first] = await once(lines, 'line') as [string];
  expect(first).toBe('started');
  return {
    stop: async () => {
      const last = once(lines, 'line');
      child.kill('SIGTERM');
      return JSON.parse(((await last) as [string])[0]) as Record<string, any>;
    },
  };
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

describe('an honest call while another client abuses the REST API and the signal port (all mode)', () => {
  it('gets every relayed frame, in order, with a bounded p99, and the process keeps serving both tiers', async () => {
    const { host, guest } = await h.activeCall(`ws://127.0.0.1:${product.signalPort}`);

    const abusive: string[] = [];
    for (let i = 0; i < 4; i += 1) abusive.push(await h.token(await h.call(), i % 2 === 0 ? 'host' : 'guest'));
    const abuse = await startAbuser(abusive);

    const frames = 150;
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const order: number[] = [];
    guest.onFrame = (frame) => {
      if (frame.type !== 'ice-candidate') return;
      const n = Number(String(frame.data.candidate.candidate).split(' ')[1]);
      order.push(n);
      latencies.push(performance.now() - sentAt.get(n)!);
    };
    // 25 frames a second, half the per-socket rate limit, for 6 s of abuse.
    for (let n = 0; n < frames; n += 1) {
      sentAt.set(n, performance.now());
      host.send({ type: 'ice-candidate', data: { candidate: { candidate: `candidate:1 ${n} udp 1 127.0.0.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 } } });
      await new Promise((r) => setTimeout(r, 40));
    }
    await until(() => order.length >= frames, 15000).catch(() => undefined);
    const counts = await abuse.stop();

    expect(order).toEqual([...Array(frames).keys()]);
    // Generous for a loaded 2-core machine (205-432 ms measured, test files in parallel); with both tiers on one event loop not every frame arrived within 15 s.
    expect(p99(latencies), `latencies ${JSON.stringify(latencies.map(Math.round))}`).toBeLessThan(750);
    // The abuse did happen: heavy REST requests were in flight, and the node fought back on its port.
    console.log('abuse', JSON.stringify(counts), 'relay p99', Math.round(p99(latencies)), 'ms');
    expect(counts['restSent']).toBeGreaterThanOrEqual(4);
    expect(counts['frames']).toBeGreaterThan(100);
    expect(counts['raw']).toBeGreaterThanOrEqual(200);
    // Documented closes only: 4500 bad frames, 4501 rate, 4503 too large; 1006 for a frame over twice the limit (docs/signaling.md).
    for (const code of Object.keys(counts['closes'])) expect(['1006', '4500', '4501', '4503']).toContain(code);

    expect((await fetch(`http://127.0.0.1:${product.signalPort}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${product.apiPort}/health-check`)).status).toBe(200);
    expect((await host.request('ping', {})).type).toBe('pong');
  }, 90000);
});

describe('connections to the API port cannot take the signal port\'s descriptors (all mode)', () => {
  it('with 600 silent connections on the API port of a 512-descriptor process, the signal port still upgrades and answers /health', async () => {
    const limited = await startProductProcess('all', productEnv(), 60000, { openFilesLimit: 512 });
    const raw: Socket[] = [];
    try {
      for (let i = 0; i < 600; i += 1) {
        const socket = connect(limited.apiPort!, '127.0.0.1');
        socket.on('error', () => undefined);
        raw.push(socket);
      }
      await until(() => raw.filter((s) => !s.connecting).length >= 600, 20000, 'raw connections settled');
      const call = await h.call();
      const url = `ws://127.0.0.1:${limited.signalPort}`;
      // Bounded: with one shared descriptor table these hang until the API's connections go away.
      const health = await fetch(`http://127.0.0.1:${limited.signalPort}/health`, { signal: AbortSignal.timeout(5000) });
      expect(health.status).toBe(200);
      const client = await Promise.race([
        h.connect(url, call, 'host'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('upgrade hung')), 5000)),
      ]);
      expect((await client.join()).type).toBe('ack');
    } finally {
      for (const socket of raw) socket.destroy();
    }
    // SIGKILL of the process leaves no API process behind (it exits when its IPC channel closes).
    const apiPid = limited.logs.find((l) => l['msg'] === 'api listening')!['pid'] as number;
    expect(apiPid).not.toBe(limited.child.pid);
    limited.kill('SIGKILL');
    await limited.exited;
    await until(() => { try { process.kill(apiPid, 0); return false; } catch { return true; } }, 10000, 'api process gone');
  }, 120000);
});

