import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerMessage, BrokerStatus } from '../../signal/broker/broker.js';
import { until as poll } from '../helpers/poll.js';
import { uniqueName } from '../helpers/services.js';

/** Polls `check` (every 5 ms) until it holds; rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  await poll(check, timeoutMs, what, 5);
}

/** A handler that records what it receives. */
export function recorder(): { messages: BrokerMessage[]; payloads(): string[]; handler(message: BrokerMessage): void } {
  const messages: BrokerMessage[] = [];
  return {
    messages,
    payloads: () => messages.map((m) => m.payload),
    handler: (message) => void messages.push(message),
  };
}

/** What a contract run needs besides a factory. */
export interface BrokerHarness {
  /** Channels under `prefix` the transport is subscribed to (Redis: `PUBSUB CHANNELS`). */
  transportChannels?(prefix: string): Promise<string[]>;
  /** Removes whatever a test left under `prefix`. */
  cleanup?(prefix: string): Promise<void>;
}

const noop = (): void => undefined;

/**
 * The behaviour every `Broker` promises. `makeBroker` returns a broker that is already `up`;
 * brokers made with the same prefix must reach each other like nodes on one transport.
 */
export function brokerContract(
  name: string,
  makeBroker: (nodeId: string, prefix: string) => Promise<Broker>,
  harness: BrokerHarness = {},
): void {
  describe(`Broker contract: ${name}`, () => {
    let prefix = '';
    const prefixes: string[] = [];
    const brokers: Broker[] = [];

    async function make(nodeId: string, onPrefix = prefix): Promise<Broker> {
      const broker = await makeBroker(nodeId, onPrefix);
      brokers.push(broker);
      return broker;
    }

    function freshPrefix(): string {
      const p = uniqueName('broker');
      prefixes.push(p);
      return p;
    }

    async function transportHas(channel: string): Promise<boolean> {
      const channels = await harness.transportChannels!(channel.slice(0, channel.indexOf(':')));
      return channels.includes(channel);
    }

    beforeEach(() => {
      prefix = freshPrefix();
    });

    afterEach(async () => {
      await Promise.all(brokers.splice(0).map((b) => b.close()));
      await Promise.all(prefixes.splice(0).map((p) => harness.cleanup?.(p)));
    });

    it('names node and room channels under the prefix', async () => {
      const a = await make('n1');
      expect(a.nodeId).toBe('n1');
      expect(a.nodeChannel('n2')).toBe(`${prefix}:ch:node:n2`);
      expect(a.roomChannel('call-1')).toBe(`${prefix}:ch:room:call-1`);
    });

    it('delivers to a local subscriber, stamped with the publisher node id', async () => {
      const a = await make('n1');
      const r = recorder();
      const channel = a.roomChannel('c1');
      await a.subscribe(channel, r.handler);
      await a.publish(channel, 'hello');
      await until(() => r.messages.length === 1, 'delivery');
      expect(r.messages).toEqual([{ channel, payload: 'hello', from: 'n1' }]);
    });

    it('delivers once to every handler on the channel, a repeated handler once per subscription', async () => {
      const a = await make('n1');
      const r1 = recorder();
      const r2 = recorder();
      const channel = a.roomChannel('c1');
      await a.subscribe(channel, r1.handler);
      await a.subscribe(channel, r2.handler);
      await a.subscribe(channel, r2.handler);
      await a.publish(channel, 'm');
      await until(() => r1.messages.length === 1 && r2.messages.length === 2, 'delivery to all handlers');
      await a.publish(channel, 'barrier');
      await until(() => r1.payloads().includes('barrier'), 'barrier');
      expect(r1.payloads()).toEqual(['m', 'barrier']);
      expect(r2.payloads()).toEqual(['m', 'm', 'barrier', 'barrier']);
    });

    it('unsubscribe stops delivery to that handler only and is idempotent', async () => {
      const a = await make('n1');
      const gone = recorder();
      const stays = recorder();
      const channel = a.roomChannel('c1');
      const subscription = await a.subscribe(channel, gone.handler);
      await a.subscribe(channel, stays.handler);
      await a.publish(channel, 'before');
      await until(() => gone.messages.length === 1 && stays.messages.length === 1, 'first delivery');
      await Promise.all([subscription.unsubscribe(), subscription.unsubscribe()]);
      await subscription.unsubscribe();
      await a.publish(channel, 'after');
      await until(() => stays.payloads().includes('after'), 'delivery to the remaining handler');
      expect(gone.payloads()).toEqual(['before']);
    });

    it('delivers nothing published after the last handler left', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const gone = recorder();
      const later = recorder();
      const channel = a.roomChannel('c1');
      const subscription = await a.subscribe(channel, gone.handler);
      await subscription.unsubscribe();
      await b.publish(channel, 'lost');
      await a.subscribe(channel, later.handler);
      await b.publish(channel, 'seen');
      await until(() => later.messages.length === 1, 'delivery after resubscribing');
      expect(later.payloads()).toEqual(['seen']);
      expect(gone.messages).toEqual([]);
    });

    it.runIf(harness.transportChannels)('subscribes the transport on the first handler and unsubscribes after the last', async () => {
      const a = await make('n1');
      const channel = a.roomChannel('c1');
      expect(await transportHas(channel)).toBe(false);
      const s1 = await a.subscribe(channel, noop);
      expect(await transportHas(channel)).toBe(true);
      const s2 = await a.subscribe(channel, noop, { skipOwn: true });
      await s1.unsubscribe();
      expect(await transportHas(channel)).toBe(true);
      await s2.unsubscribe();
      expect(await transportHas(channel)).toBe(false);
      await s2.unsubscribe();
      expect(await transportHas(channel)).toBe(false);
    });

    it('keeps the transport consistent under concurrent subscribe and unsubscribe', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const channel = a.roomChannel('churn');
      await Promise.all(Array.from({ length: 20 }, () => a.subscribe(channel, noop).then((s) => s.unsubscribe())));
      if (harness.transportChannels) expect(await transportHas(channel)).toBe(false);

      const [s1, s2] = await Promise.all([a.subscribe(channel, noop), a.subscribe(channel, noop)]);
      const last = recorder();
      const [, survivor] = await Promise.all([s1.unsubscribe(), a.subscribe(channel, last.handler), s2.unsubscribe()]);
      if (harness.transportChannels) expect(await transportHas(channel)).toBe(true);
      await b.publish(channel, 'still here');
      await until(() => last.messages.length === 1, 'delivery after churn');
      await survivor.unsubscribe();
      if (harness.transportChannels) expect(await transportHas(channel)).toBe(false);
    });

    it('skipOwn drops only what this node published', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const skipping = recorder();
      const all = recorder();
      const channel = a.roomChannel('c1');
      await a.subscribe(channel, skipping.handler, { skipOwn: true });
      await a.subscribe(channel, all.handler);
      await a.publish(channel, 'own');
      await until(() => all.payloads().includes('own'), 'own message to the non-skipping handler');
      await b.publish(channel, 'peer');
      await until(() => skipping.payloads().includes('peer'), 'peer message to the skipping handler');
      expect(skipping.messages).toEqual([{ channel, payload: 'peer', from: 'n2' }]);
      await until(() => all.messages.length === 2, 'peer message to the non-skipping handler');
      expect(all.messages.map((m) => m.from)).toEqual(['n1', 'n2']);
    });

    it('resolves publish to the number of nodes listening on the channel: 0 once its node is gone', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const channel = a.nodeChannel('n2');
      expect(await a.publish(channel, 'nobody')).toBe(0);
      await b.subscribe(channel, noop);
      expect(await a.publish(channel, 'one')).toBe(1);
      await b.close();
      await until(async () => (await a.publish(channel, 'gone')) === 0, 'the channel to have no listener');
    });

    it('delivers between nodes sharing a prefix, both ways, stamped with the sender', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const atA = recorder();
      const atB = recorder();
      await a.subscribe(a.nodeChannel('n1'), atA.handler);
      await b.subscribe(b.nodeChannel('n2'), atB.handler);
      await a.publish(a.nodeChannel('n2'), 'to b');
      await b.publish(b.nodeChannel('n1'), 'to a');
      await until(() => atA.messages.length === 1 && atB.messages.length === 1, 'cross-node delivery');
      expect(atA.messages).toEqual([{ channel: a.nodeChannel('n1'), payload: 'to a', from: 'n2' }]);
      expect(atB.messages).toEqual([{ channel: b.nodeChannel('n2'), payload: 'to b', from: 'n1' }]);
    });

    it('resolves subscribe only once active: an immediate publish from another node arrives', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const r = recorder();
      for (let i = 0; i < 10; i += 1) {
        await b.subscribe(b.roomChannel(`fresh-${i}`), r.handler);
        await a.publish(a.roomChannel(`fresh-${i}`), String(i));
      }
      await until(() => r.messages.length === 10, 'every first message');
    });

    it('a throwing or rejecting handler stops neither other handlers nor later messages', async () => {
      const a = await make('n1');
      let thrown = 0;
      let rejected = 0;
      const good = recorder();
      const channel = a.roomChannel('c1');
      await a.subscribe(channel, () => {
        thrown += 1;
        throw new Error('handler boom');
      });
      await a.subscribe(channel, (async () => {
        rejected += 1;
        throw new Error('async handler boom');
      }) as () => void);
      await a.subscribe(channel, good.handler);
      await a.publish(channel, 'm1');
      await a.publish(channel, 'm2');
      await until(() => good.messages.length === 2, 'delivery past failing handlers');
      expect(good.payloads()).toEqual(['m1', 'm2']);
      expect([thrown, rejected]).toEqual([2, 2]);
    });

    it('keeps payloads intact: newlines, unicode, empty, large', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const r = recorder();
      const channel = a.roomChannel('c1');
      const payloads = [
        'line1\nline2\r\n\n', '\n', '', 'héllo wörld — 你好 🎥📞', JSON.stringify({ sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }),
        'x'.repeat(256 * 1024), 'n2\nspoofed stamp',
      ];
      await b.subscribe(channel, r.handler);
      for (const p of payloads) await a.publish(channel, p);
      await until(() => r.messages.length === payloads.length, 'all payloads');
      expect(r.payloads()).toEqual(payloads);
      expect(new Set(r.messages.map((m) => m.from))).toEqual(new Set(['n1']));
    });

    it('isolates brokers on different prefixes', async () => {
      const otherPrefix = freshPrefix();
      const a = await make('n1');
      const b = await make('n1', otherPrefix);
      expect(a.roomChannel('c1')).not.toBe(b.roomChannel('c1'));
      expect(a.nodeChannel('n1')).not.toBe(b.nodeChannel('n1'));
      const atA = recorder();
      const atB = recorder();
      await a.subscribe(a.roomChannel('c1'), atA.handler);
      await b.subscribe(b.roomChannel('c1'), atB.handler);
      await a.publish(a.roomChannel('c1'), 'for a');
      await a.publish(b.roomChannel('c1'), 'barrier');
      await until(() => atB.messages.length === 1 && atA.messages.length === 1, 'both deliveries');
      expect(atB.payloads()).toEqual(['barrier']);
      expect(atA.payloads()).toEqual(['for a']);
      if (harness.transportChannels) {
        expect(await harness.transportChannels(prefix)).toEqual([a.roomChannel('c1')]);
        expect(await harness.transportChannels(otherPrefix)).toEqual([b.roomChannel('c1')]);
      }
    });

    it('preserves the order of one publisher on one channel, locally and across nodes', async () => {
      const a = await make('n1');
      const b = await make('n2');
      const local = recorder();
      const remote = recorder();
      const channel = a.roomChannel('ordered');
      await a.subscribe(channel, local.handler);
      await b.subscribe(channel, remote.handler);
      const sent = Array.from({ length: 300 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((p) => a.publish(channel, p)));
      await until(() => local.messages.length === sent.length && remote.messages.length === sent.length, 'all messages');
      expect(local.payloads()).toEqual(sent);
      expect(remote.payloads()).toEqual(sent);
    });

    it('is up while open; close is idempotent, reports down, and later publish/subscribe reject', async () => {
      const a = await make('n1');
      const seen: BrokerStatus[] = [];
      a.onStatus(() => {
        throw new Error('status listener boom');
      });
      a.onStatus((s) => seen.push(s));
      const removed: BrokerStatus[] = [];
      const off = a.onStatus((s) => removed.push(s));
      off();
      off();
      expect(a.status).toBe('up');
      const channel = a.roomChannel('c1');
      const subscription = await a.subscribe(channel, noop);

      await Promise.all([a.close(), a.close()]);
      await a.close();
      expect(a.status).toBe('down');
      expect(seen).toEqual(['down']);
      expect(removed).toEqual([]);

      let publishing: Promise<number> | undefined;
      expect(() => {
        publishing = a.publish(channel, 'x');
      }).not.toThrow();
      await expect(publishing).rejects.toThrow();
      await expect(a.subscribe(channel, noop)).rejects.toThrow();
      await expect(subscription.unsubscribe()).resolves.toBeUndefined();
      // The server drops a closed connection's subscriptions just after acknowledging QUIT.
      if (harness.transportChannels) await until(async () => !(await transportHas(channel)), 'transport unsubscribed');
    });
  });
}
