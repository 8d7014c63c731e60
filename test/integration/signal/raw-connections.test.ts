import { connect, type Socket } from 'node:net';
import { afterAll, describe, it } from 'vitest';
import { until } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import { SignalClient } from '../../helpers/ws-client.js';

const h = useSignalHarness('rawconnections');
const raw: Socket[] = [];

afterAll(() => {
  for (const s of raw) s.destroy();
});

/** Tries an upgrade and /health until both succeed; the time it took (ms). */
async function honestClientServed(url: string, port: number, token: string, withinMs: number): Promise<number> {
  const started = Date.now();
  await until(async () => {
    try {
      const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      if (health.status !== 200) return false;
      const client = await Promise.race([SignalClient.connect(url, token), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), 2000))]);
      client.close();
      return true;
    } catch {
      return false;
    }
  }, withinMs, 'an honest upgrade and /health', 250);
  return Date.now() - started;
}

describe('silent TCP connections to the signal port of a 512-descriptor node', () => {
  it('are all closed by the node within the documented 30 s, after which an honest client upgrades and /health answers', async () => {
    const node = await h.spawn({}, { openFilesLimit: 512 });
    const token = await h.token(await h.call(), 'guest');
    let closed = 0;
    const opened = Date.now();
    for (let i = 0; i < 600; i += 1) {
      const socket = connect(node.signalPort!, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => { closed += 1; });
      raw.push(socket);
    }
    await until(() => closed === 600, 30000, 'every silent connection closed by the node', 100);
    const clearedMs = Date.now() - opened;
    const servedMs = await honestClientServed(node.url, node.signalPort!, token, 5000);
    console.log(`600 silent connections cleared in ${clearedMs} ms; honest client then served in ${servedMs} ms`);
  }, 90000);
});
