import type { IncomingMessage, Server } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Forwards WebSocket upgrades for `path` (exactly, with any query) arriving at a Node HTTP server
 * to `host:port` over TCP, byte for byte: the `all` process serves the chat socket on the API's
 * port this way. Any other upgrade is answered 404. Returns a function that stops forwarding.
 */
export function forwardUpgrades(server: Server, path: string, target: { host: string; port: number }): () => void {
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '';
    if (!(url === path || url.startsWith(`${path}?`))) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"not_found","message":"No such route.","details":null}}');
      return;
    }
    const upstream = connect(target.port, target.host, () => {
      let lines = `${req.method ?? 'GET'} ${url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${lines}\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.setNoDelay(true);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
  };
  server.on('upgrade', onUpgrade);
  return () => { server.off('upgrade', onUpgrade); };
}
