import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedToolPath } from '../../../shared/runtime/go-tools.js';
import { startProductProcess } from '../../helpers/product-process.js';
import { until } from '../../helpers/poll.js';
import { scratchDir } from '../../helpers/scratch.js';

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch { /* task gone */ }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill 0: count it as gone (it no longer runs or holds anything).
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Database servers (and the tests' redis-server) die with their parent, however it dies. */
describe('child servers die with their parent', () => {
  const strays: number[] = [];
  const dataDir = scratchDir('vidivo-childdeath');
  afterAll(() => {
    for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('SIGKILL of a product process with the embedded FerretDB: the FerretDB process exits too', async () => {
    const product = await startProductProcess('all', { DATA_DIR: dataDir }, 180000);
    const pid = product.child.pid!;
    const children = childrenOf(pid);
    const ferret = children.find((c) => /ferretdb/.test(readFileSync(`/proc/${c}/cmdline`, 'utf8')));
    expect(ferret, `children of ${pid}: ${children.join(', ')}`).toBeTypeOf('number');
    strays.push(ferret!);
    product.kill('SIGKILL');
    await product.exited;
    await until(() => !alive(ferret!), 15000, `FerretDB (pid ${ferret}) gone after its parent was killed`);
  }, 240000);

  /** Runs `script` in a Node process that prints one pid (of a server it started) and then idles; SIGKILLs it and waits for that pid to go. */
  async function killParentOf(script: string, what: string): Promise<void> {
    const { spawn } = await import('node:child_process');
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', () => reject(new Error('parent exited early')));
    });
    strays.push(pid);
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await until(() => !alive(pid), 15000, `${what} (pid ${pid}) gone after its parent was killed`);
  }

  it('a redis-server spawned by a process that is SIGKILLed exits too', async () => {
    const module = join(process.cwd(), 'dist/shared/runtime/redis-server.js');
    await killParentOf(`const m = await import('${module}'); const r = await m.spawnRedis(); console.log(r.server.process.pid); setInterval(() => {}, 1000);`, 'redis-server');
  });

  it('our FerretDB wrapper arms the parent-death signal itself (spawned without setpriv)', async () => {
    const bin = cachedToolPath('ferretdb');
    expect(bin).toBeTypeOf('string');
    const dir = scratchDir('vidivo-ferret');
    await killParentOf([
      `import { spawn } from 'node:child_process';`,
      `const c = spawn('${bin}', ['--listen-addr=127.0.0.1:0', '--handler=sqlite', '--sqlite-url=file:${dir}/'], { stdio: 'ignore', env: { ...process.env, VIDIVO_PARENT_PID: String(process.pid) } });`,
      `console.log(c.pid); setInterval(() => {}, 1000);`,
    ].join('\n'), 'ferretdb');
  });
});
