import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { withSeq, type PendingFrames } from '../signal/calls/directory.js';
import { RedisDirectory } from '../signal/calls/redis-directory.js';
import { newId } from '../shared/ids.js';
import { spawnRedis } from '../shared/runtime/redis-server.js';
import { deleteKeys } from './redis-keys.js';

const USAGE = `Usage: node dist/bench/write-behind-bench.js [--participants N] [--batch B] [--frames F] [--rounds R] [--json]

What the replay write-behind costs Redis: R rounds in which each of N participants has F new frames,
written B participants per script call (the signal node writes 50 per call, usually 1 frame each
in the relay benchmark). Reports Redis time per script call and per participant from INFO
commandstats (time Redis is blocked, during which no PUBLISH of another node is served), and
this process's wall time per call. Runs on a private redis-server it starts, so no other client's
scripts are counted; REDIS_URL uses that server instead (its counters are server-wide: keep it
otherwise idle). With the default replay limit of 256 and one frame per round, LTRIM never runs;
--frames and --rounds large enough to pass 256 frames per participant measure it too.`;

/** A candidate frame of the relay benchmark's size (~250 bytes). */
const frameBody = (n: number): string =>
  JSON.stringify({ type: 'ice-candidate', data: { from: 'host', candidate: { candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${50000 + (n % 10000)} typ host generation 0 network-id 1 x-bench r123456.789`, sdpMid: '0', sdpMLineIndex: 0 } } });

function options(): { participants: number; batch: number; frames: number; rounds: number; json: boolean } {
  const { values } = parseArgs({
    options: {
      participants: { type: 'string', default: '5000' }, batch: { type: 'string', default: '50' },
      frames: { type: 'string', default: '1' }, rounds: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: 'participants' | 'batch' | 'frames' | 'rounds', max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      process.stderr.write(`--${name} must be an integer in [1, ${max}]\n\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  return { participants: int('participants', 100_000), batch: int('batch', 10_000), frames: int('frames', 1000), rounds: int('rounds', 10_000), json: values.json === true };
}

/** Calls and usec of the script commands so far (`INFO commandstats`: EVALSHA, and EVAL after a NOSCRIPT). */
async function scriptStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const total = { calls: 0, usec: 0 };
  for (const line of (await redis.info('commandstats')).split('\n')) {
    if (!line.startsWith('cmdstat_evalsha:') && !line.startsWith('cmdstat_eval:')) continue;
    total.calls += Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
    total.usec += Number(/usec=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return total;
}

async function main(): Promise<void> {
  const opts = options();
  const spawned = process.env['REDIS_URL'] ? undefined : await spawnRedis();
  const url = process.env['REDIS_URL'] ?? spawned!.url;
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const prefix = `wbbench-${newId()}`;
  const directory = new RedisDirectory({ redis, prefix, nodeId: 'n1', replayLimit: 256, bufferTtlMs: 120_000, tickTtlMs: 120_000 });
  const peers = Array.from({ length: opts.participants }, (_, i) => ({ callId: `c${Math.floor(i / 2)}`, peer: i % 2 === 0 ? 'host' : 'guest', seq: 0 }));
  try {
    // One warm-up round loads the script and creates the keys, as on a node that has been running.
    let wallMs = 0;
    let calls = 0;
    let before = { calls: 0, usec: 0 };
    for (let round = 0; round <= opts.rounds; round += 1) {
      if (round === 1) before = await scriptStats(redis);
      for (let i = 0; i < peers.length; i += opts.batch) {
        const batch: PendingFrames[] = peers.slice(i, i + opts.batch).map((p) => ({
          callId: p.callId, peer: p.peer, frames: Array.from({ length: opts.frames }, () => withSeq(++p.seq, frameBody(p.seq))),
        }));
        const t0 = performance.now();
        await directory.record(batch);
        if (round > 0) {
          wallMs += performance.now() - t0;
          calls += 1;
        }
      }
    }
    const after = await scriptStats(redis);
    if (after.calls - before.calls !== calls) {
      process.stderr.write(`warning: Redis counted ${after.calls - before.calls} script calls, this bench made ${calls}: another client ran scripts, so the Redis figures include them\n`);
    }
    const participants = opts.participants * opts.rounds;
    const result = {
      participants: opts.participants, batch: opts.batch, frames_per_participant: opts.frames, rounds: opts.rounds,
      script_calls: calls,
      redis_us_per_call: Math.round((after.usec - before.usec) / calls),
      redis_us_per_participant: Math.round(((after.usec - before.usec) / participants) * 100) / 100,
      wall_us_per_call: Math.round((wallMs * 1000) / calls),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stderr.write(`write-behind: ${calls} script calls of ${opts.batch} participants × ${opts.frames} frame(s): Redis ${result.redis_us_per_call} µs per call, ${result.redis_us_per_participant} µs per participant; wall ${result.wall_us_per_call} µs per call\n`);
  } finally {
    await deleteKeys(url, prefix);
    await redis.quit();
    await spawned?.stop();
  }
}

await main();
