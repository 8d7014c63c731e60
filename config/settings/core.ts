import { defineSettings } from '../setting.js';

export const coreSettings = defineSettings([
  { env: 'NODE_ENV', key: 'env', schema: { enum: ['development', 'production', 'test'] }, default: 'development', doc: 'Runtime environment; `production` refuses development conveniences (generated keys, logged mail links).' },
  { env: 'HOST', key: 'host', schema: { type: 'string', minLength: 1 }, default: '127.0.0.1', doc: 'Address both servers bind to.' },
  { env: 'LOG_LEVEL', key: 'logLevel', schema: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info', doc: 'Minimum level of the JSON log lines on stdout.' },
  { env: 'NODE_ID', key: 'nodeId', schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, doc: 'This process\'s id in the cluster (logs, Redis keys); random when unset.' },
  { env: 'DATA_DIR', key: 'dataDir', schema: { type: 'string', minLength: 1 }, default: '.data', doc: 'Folder for embedded-database files and development keys.' },
  { env: 'SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', schema: { type: 'integer', minimum: 100, maximum: 600000 }, default: 10000, doc: 'Longest a graceful shutdown may take before the process exits anyway.' },
  { env: 'MONGO_URL', key: 'mongo.url', schema: { type: 'string', pattern: '^mongodb(\\+srv)?://' }, secret: true, doc: 'MongoDB connection string. Unset: an embedded database is started (mongod, then FerretDB, then mongodb-memory-server).' },
  { env: 'FERRETDB_POSTGRESQL_URL', key: 'mongo.ferretPostgresUrl', schema: { type: 'string', pattern: '^postgres(ql)?://' }, secret: true, doc: 'When the embedded database is FerretDB: keep its data in this (existing) PostgreSQL database instead of SQLite files. Much faster for non-_id queries (FerretDB 1.x on SQLite scans whole collections).' },
  { env: 'MONGO_DB', key: 'mongo.database', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$' }, default: 'vidivo', doc: 'Database name.' },
  { env: 'REDIS_URL', key: 'redis.url', schema: { type: 'string', pattern: '^rediss?://' }, secret: true, doc: 'Redis URL. Unset: a single node with an in-process broker and memory rate limits.' },
  { env: 'REDIS_PREFIX', key: 'redis.prefix', schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, default: 'vidivo', doc: 'Prefix of every Redis key and channel (`<prefix>:…`).' },
]);
