import type { AxStorage } from './types.js'

/** An AxStorage that can be flushed (pending batched writes) and closed (files, connections). */
export interface LearnStorage extends AxStorage {
  /** Resolves once every save made before it is stored. */
  flush(): Promise<void>
  /** Flushes, then releases what the store holds; later calls reject. */
  close(): Promise<void>
}

export type * from './types.js'
export { AxMemoryStorage } from './memory.js'
export { AxFileStorage, type AxFileStorageOptions } from './files.js'
export { AxSQLiteStorage, type AxSQLiteStorageOptions } from './sqlite.js'
export { AxPostgresStorage, type AxPostgresStorageOptions, type PostgresPoolOptions } from './postgres.js'
export { createStorage, type CreateStorageOptions } from './url.js'
export type { LockOptions } from './lock.js'
