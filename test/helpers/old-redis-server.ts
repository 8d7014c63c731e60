import { createServer, type Socket } from 'node:net';

const VERSION = '6.0.16';

/** Reads one `\r\n`-terminated line at `pos`; undefined while it has not fully arrived. */
function line(buf: Buffer, pos: number): { text: string; next: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  return eol < 0 ? undefined : { text: buf.toString('utf8', pos, eol), next: eol + 2 };
}

/** Parses one RESP array of bulk strings at `pos`; undefined while it has not fully arrived. */
function command(buf: Buffer, pos: number): { args: string[]; next: number } | undefined {
  const head = line(buf, pos);
  if (!head) return undefined;
  if (!head.text.startsWith('*')) throw new Error(`not a RESP array: ${head.text}`);
  const args: string[] = [];
  let at = head.next;
  for (let i = Number(head.text.slice(1)); i > 0; i--) {
    const len = line(buf, at);
    if (!len) return undefined;
    if (!len.text.startsWith('$')) throw new Error(`not a RESP bulk string: ${len.text}`);
    const end = len.next + Number(len.text.slice(1));
    if (buf.length < end + 2) return undefined;
    args.push(buf.toString('utf8', len.next, end));
    at = end + 2;
  }
  return { args, next: at };
}

function reply([name = '']: string[]): string {
  switch (name.toUpperCase()) {
    case 'INFO': {
      // ioredis's ready check waits for `loading:0`.
      const info = `# Server\r\nredis_version:${VERSION}\r\nloading:0\r\n`;
      return `$${Buffer.byteLength(info)}\r\n${info}\r\n`;
    }
    case 'PING':
      return '+PONG\r\n';
    case 'CLIENT':
    case 'SELECT':
      return '+OK\r\n';
    default:
      return '-ERR unknown command\r\n';
  }
}

/** A RESP2 server that stands in for a Redis older than 6.2, which this machine does not have. */
export async function startOldRedisServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      try {
        for (let parsed = command(pending, 0); parsed; parsed = command(pending, 0)) {
          pending = pending.subarray(parsed.next);
          socket.write(reply(parsed.args));
        }
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('old redis server has no TCP address');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    // server.close() waits for open connections, so end them first.
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of sockets) socket.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
