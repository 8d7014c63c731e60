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

export async function listen(app: Koa<any>, host: string, port: number): Promise<HttpListener> {
  const server = createServer(app.callback());
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 30000;
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
