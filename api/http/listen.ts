import { createServer, type Server } from 'node:http';
import type Koa from 'koa';

export interface HttpListener {
  server: Server;
  port: number;
  /**
   * Stops accepting, lets in-flight requests finish (idle keep-alive sockets are closed at
   * once), and force-closes what is left after `timeoutMs`. Idempotent.
   */
  close(timeoutMs: number): Promise<void>;
}

/** Timeouts of the API's connections (ms). */
export interface ListenTimeouts {
  /**
   * A connection with no bytes moving either way for this long is closed, so one that never sends
   * a request does not hold a descriptor (Node sets no such limit). Default 30 s.
   */
  idleMs?: number;
}

export async function listen(app: Koa<any>, host: string, port: number, timeouts: ListenTimeouts = {}): Promise<HttpListener> {
  // Node checks headersTimeout/requestTimeout every connectionsCheckingInterval (30 s by default),
  // so a trickling client could hold a connection up to that long past them.
  const server = createServer({ connectionsCheckingInterval: 5000 }, app.callback());
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 30000;
  server.setTimeout(timeouts.idleMs ?? 30000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address();
  let closing: Promise<void> | undefined;
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    close(timeoutMs) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        force.unref();
        server.close(() => { clearTimeout(force); resolve(); });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
