import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';

export interface MongoHandle {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/**
 * Driver timings that bound how long an operation waits for a database that stopped answering
 * (process stopped, killed, host unreachable). The driver notices within a heartbeat plus its
 * timeout (1 + 2 s), then fails the operations in flight and gives a retried read one more server
 * selection (2 s): an operation fails within about 5 s instead of the driver defaults' 20–30 s
 * (10 s heartbeats and connect timeout, 30 s selection). The same option in the connection string
 * wins. (The driver's own `timeoutMS` has no effect since driver 7.)
 */
export const STORAGE_DRIVER_TIMINGS = {
  heartbeatFrequencyMS: 1000,
  connectTimeoutMS: 2000,
  serverSelectionTimeoutMS: 2000,
} as const satisfies MongoClientOptions;

/** Pause between connection attempts at start-up. */
const CONNECT_RETRY_MS = 250;

/** The names of the options set in `url`'s query string, lower case. */
function optionsInUrl(url: string): Set<string> {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  return new Set(query.split('&').map((pair) => decodeURIComponent(pair.split('=')[0] ?? '').toLowerCase()).filter(Boolean));
}

/** STORAGE_DRIVER_TIMINGS, less those the connection string sets itself. */
function driverTimings(url: string): MongoClientOptions {
  const given = optionsInUrl(url);
  return Object.fromEntries(Object.entries(STORAGE_DRIVER_TIMINGS).filter(([name]) => !given.has(name.toLowerCase())));
}

/**
 * Connects (retrying until `timeoutMs` while the server is unreachable, e.g. still starting) and
 * selects `database`. The client then runs with STORAGE_DRIVER_TIMINGS.
 */
export async function connectMongo(url: string, database: string, timeoutMs = 10000): Promise<MongoHandle> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new MongoClient(url, { ...driverTimings(url), appName: 'vidivo' });
    try {
      await client.connect();
      const db = client.db(database);
      let closed: Promise<void> | undefined;
      return { client, db, close: () => (closed ??= client.close()) };
    } catch (err) {
      await client.close().catch(() => undefined);
      if (Date.now() + CONNECT_RETRY_MS >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}
