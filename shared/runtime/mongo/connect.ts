import { MongoClient, type Db } from 'mongodb';

export interface MongoHandle {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/** Connects (failing within `timeoutMs` when unreachable) and selects `database`. */
export async function connectMongo(url: string, database: string, timeoutMs = 10000): Promise<MongoHandle> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, appName: 'vidivo' });
  await client.connect();
  const db = client.db(database);
  let closed: Promise<void> | undefined;
  return { client, db, close: () => (closed ??= client.close()) };
}
