import { MemoryCallStore, MongoCallStore } from '../../shared/calls/index.js';
import { freshDb } from '../helpers/services.js';
import { callStoreContract } from './call-store.contract.js';

callStoreContract('MemoryCallStore', async () => new MemoryCallStore(), async () => undefined);

let db: Awaited<ReturnType<typeof freshDb>> | undefined;
callStoreContract(
  'MongoCallStore',
  async () => {
    db = await freshDb('callstore-contract');
    const store = new MongoCallStore(db.db);
    await store.ensureIndexes();
    return store;
  },
  async () => {
    await db?.drop();
    db = undefined;
  },
);
