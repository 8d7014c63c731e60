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

/** Deadlines of the API's requests (ms). */
export interface ListenTimeouts {
  /** The request's headers must have arrived by then; a connection that sends nothing gets 408. Default 10 s. */
  headersMs?: number;
  /** The whole request must have arrived by then. Default 30 s. */
  requestMs?: number;
  /** How often Node checks both deadlines. Default 5 s (Node's own 30 s lets a silent connection live up to 40 s). */
  checkEveryMs?: number;
}

export async function listen(app: Koa<any>, host: string, port: number, timeouts: ListenTimeouts = {}): Promise<HttpListener> {
  const server = createServer({ connectionsCheckingInterval: timeouts.checkEveryMs ?? 5000 }, app.callback());
  server.keepAliveTimeout = 5000;
  server.headersTimeout = timeouts.headersMs ?? 10000;
  server.requestTimeout = timeouts.requestMs ?? 30000;
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
