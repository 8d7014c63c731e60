import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SignalNode } from '../../../signal/main.js';
import { OWN_DESCRIPTORS } from '../../../signal/socket-capacity.js';
import { readiness as ready } from '../../helpers/signal-cluster.js';
import { useSignalHarness } from '../../helpers/signal-harness.js';
import { SignalClient } from '../../helpers/ws-client.js';

const h = useSignalHarness('signalcapacity');

/** Opens one socket; `hung` when no answer came within `timeoutMs` (the node could not accept). */
async function attempt(url: string, token: string, timeoutMs = 5000): Promise<SignalClient | { status: number } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), timeoutMs); });
  const opened = h.connectWith(url, token).catch((err: { status?: number }) => {
    if (err.status === undefined) throw err;
    return { status: err.status };
  });
  try {
    return await Promise.race([opened, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw upgrade request: the status, `Connection` header and JSON body of the answer. */
async function rawUpgrade(port: number): Promise<{ status: number | undefined; connection: string | undefined; body: unknown }> {
  const req = request(`http://127.0.0.1:${port}/signal/ws?token=x`, {
    headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
  });
  req.end();
  const [res] = await once(req, 'response') as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode, connection: res.headers['connection'], body: JSON.parse(body) };
}

describe('node capacity (SIGNAL_MAX_SOCKETS)', () => {
  let url: string;
  let port: number;
  let node: SignalNode;
  beforeAll(async () => {
    ({ url, node } = await h.local({ SIGNAL_MAX_SOCKETS: '2', SIGNAL_JOIN_TIMEOUT_MS: '60000' }));
    port = node.port;
  });

  it('refuses the upgrade past the limit with 503, says `full` on /ready, and accepts again once a socket closes', async () => {
    const call = await h.call();
    const [guest, host] = [await h.token(call, 'guest'), await h.token(call, 'host')];
    const first = await h.connectWith(url, guest);
    expect((await ready(port)).body.data).toMatchObject({ status: 'ready', checks: { sockets: { open: 1, max: 2 } } });
    await h.connectWith(url, host);

    expect(await SignalClient.upgradeStatus(url, guest)).toBe(503);
    expect(await rawUpgrade(port)).toEqual({
      status: 503, connection: 'close',
      body: { error: { code: 'service_unavailable', message: 'Node is full; connect to another node.', details: null } },
    });
    const full = await ready(port);
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({ error: { code: 'service_unavailable', details: { status: 'full', checks: { sockets: { open: 2, max: 2 } } } } });
    const metrics = await node.metrics.registry.getSingleMetricAsString('signal_upgrades_refused_total');
    expect(metrics).toContain('signal_upgrades_refused_total{reason="full"} 2');

    first.close();
    await first.closed;
    const back = await ready(port);
    expect(back.status).toBe(200);
    expect(back.body.data.status).toBe('ready');
    expect(await SignalClient.upgradeStatus(url, guest)).toBe(101);
  });
});

describe('a node at its open-file limit', () => {
  it('refuses the sockets it has no descriptors for instead of leaving them unanswered, and keeps serving', async () => {
    const limit = 200;
    const node = await h.spawn({ SIGNAL_MAX_SOCKETS_PER_USER: '1000', SIGNAL_JOIN_TIMEOUT_MS: '600000' }, { openFilesLimit: limit });
    const capacity = limit - OWN_DESCRIPTORS;
    expect(node.logs.find((l) => l['msg'] === 'signal listening')).toMatchObject({ max_sockets: capacity, open_files_limit: limit });

    const call = await h.call();
    const token = await h.token(call, 'guest');
    // More attempts than the process has descriptors: without the cap the later ones wait
    // unaccepted in the backlog (and the node spins on EMFILE).
    const outcomes = { open: 0, refused: 0, hung: 0 };
    for (let i = 0; i < limit; i += 1) {
      const result = await attempt(node.url, token);
      if (result === 'hung') outcomes.hung += 1;
      else if (result instanceof SignalClient) outcomes.open += 1;
      else if (result.status === 503) outcomes.refused += 1;
      if (outcomes.hung > 0) break;
    }
    expect(outcomes).toEqual({ open: capacity, refused: limit - capacity, hung: 0 });
    const full = await ready(node.signalPort!);
    expect(full.status).toBe(503);
    expect(full.body.error.details).toMatchObject({ status: 'full', checks: { sockets: { open: capacity, max: capacity } } });
    const health = await fetch(`http://127.0.0.1:${node.signalPort}/health`);
    expect(health.status).toBe(200);
    const pong = await h.clients.at(-1)!.request('ping', {});
    expect(pong.type).toBe('pong');
  });
});
