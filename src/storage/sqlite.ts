import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { LearnError } from '../errors.js'
import { WriteBatcher } from './batch.js'
import { LazyConnection } from './lazy.js'
import {
  decodeCheckpoint,
  decodeTrace,
  encodeWrite,
  type EncodedWrite,
} from './codec.js'
import type { LearnStorage } from './index.js'
import { importOptional } from './optional.js'
import type { AxStorageItem, AxStorageQuery } from './types.js'
import { checkName, checkQuery, closedError } from './validate.js'

export interface AxSQLiteStorageOptions {
  /** Database file, created with its folder when missing; ':memory:' for a private in-memory database. */
  path: string
}

type Write = EncodedWrite
type Database = BetterSqlite3.Database

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS learn_traces (
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    has_feedback INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (name, id)
  );
  CREATE INDEX IF NOT EXISTS learn_traces_by_time ON learn_traces (name, start_ms DESC, id);
  CREATE INDEX IF NOT EXISTS learn_traces_by_feedback ON learn_traces (name, has_feedback, start_ms DESC, id);
  CREATE TABLE IF NOT EXISTS learn_checkpoints (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (name, version)
  );
`

const UPSERT_TRACE = `
  INSERT INTO learn_traces (name, id, start_ms, has_feedback, data) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (name, id) DO UPDATE SET start_ms = excluded.start_ms, has_feedback = excluded.has_feedback, data = excluded.data`
const UPSERT_CHECKPOINT = `
  INSERT INTO learn_checkpoints (name, version, created_ms, data) VALUES (?, ?, ?, ?)
  ON CONFLICT (name, version) DO UPDATE SET created_ms = excluded.created_ms, data = excluded.data`

/** SELECT for a query; ids compare in code point order, as BINARY collation on UTF-8 does. */
function selectSql(query: AxStorageQuery): { sql: string; params: (string | number)[] } {
  const trace = query.type === 'trace'
  const time = trace ? 'start_ms' : 'created_ms'
  const where = ['name = ?']
  const params: (string | number)[] = []
  const filter = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return
    where.push(clause)
    params.push(value)
  }
  filter(`${time} >= ?`, query.since?.getTime())
  filter(`${time} <= ?`, query.until?.getTime())
  filter('id = ?', query.id)
  filter('version = ?', query.version)
  filter('has_feedback = ?', query.hasFeedback === undefined ? undefined : Number(query.hasFeedback))
  params.push(query.limit ?? -1, query.offset ?? 0)
  const order = trace ? 'start_ms DESC, id' : 'version DESC'
  return {
    sql: `SELECT data FROM ${trace ? 'learn_traces' : 'learn_checkpoints'} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`,
    params,
  }
}

/**
 * better-sqlite3 is synchronous, so saves are queued and written together, in one transaction per
 * turn of the event loop; save() resolves once its transaction has committed.
 */
export class AxSQLiteStorage implements LearnStorage {
  readonly path: string
  readonly #batcher = new WriteBatcher<Write>((writes) => this.#write(writes))
  readonly #statements = new Map<string, BetterSqlite3.Statement>()
  readonly #db = new LazyConnection<Database>(() => this.#connect())
  #closed = false

  constructor(options: AxSQLiteStorageOptions) {
    if (typeof options?.path !== 'string' || options.path === '')
      throw new LearnError('must be a database file path or ":memory:"', { field: 'path' })
    this.path = options.path === ':memory:' ? options.path : resolve(options.path)
  }

  async save(name: string, item: AxStorageItem): Promise<void> {
    if (this.#closed) throw closedError('sqlite')
    await this.#batcher.add(encodeWrite(name, item))
  }

  async load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    if (this.#closed) throw closedError('sqlite')
    checkName(name)
    const valid = checkQuery(query)
    await this.#batcher.flush()
    const { sql, params } = selectSql(valid)
    const rows = this.#prepare(await this.#open(), sql).all(name, ...params) as { data: string }[]
    return rows.map((row) => (valid.type === 'trace' ? decodeTrace(row.data) : decodeCheckpoint(row.data)))
  }

  async flush(): Promise<void> {
    await this.#batcher.flush()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.flush()
    this.#closed = true
    const db = await this.#db.made()
    db?.close()
  }

  #open(): Promise<Database> {
    return this.#db.get()
  }


  async #connect(): Promise<Database> {
    const { default: Sqlite } = await importOptional<{ default: typeof BetterSqlite3 }>(
      'better-sqlite3',
      'sqlite storage',
      'npm install better-sqlite3@12',
    )
    if (this.path !== ':memory:') await mkdir(dirname(this.path), { recursive: true })
    let db: Database | undefined
    try {
      db = new Sqlite(this.path)
      db.pragma('journal_mode = WAL')
      // In WAL mode NORMAL loses no committed transaction on a process crash, only on power loss.
      db.pragma('synchronous = NORMAL')
      db.pragma('busy_timeout = 5000')
      db.exec(SCHEMA)
    } catch (error) {
      db?.close()
      throw new LearnError(`cannot be opened as the SQLite trace store: ${(error as Error).message}; it was left untouched`, {
        file: this.path,
        fix: 'point sqlite: at a database file of its own (a missing one is created), or restore this one from a backup',
      })
    }
    return db
  }

  #prepare(db: Database, sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (!statement) this.#statements.set(sql, (statement = db.prepare(sql)))
    return statement
  }

  async #write(writes: Write[]): Promise<void> {
    const db = await this.#open()
    const trace = this.#prepare(db, UPSERT_TRACE)
    const checkpoint = this.#prepare(db, UPSERT_CHECKPOINT)
    db.transaction(() => {
      for (const write of writes) {
        if (write.type === 'trace') {
          const { id, startMs, hasFeedback, json } = write.trace
          trace.run(write.name, id, startMs, hasFeedback ? 1 : 0, json)
        } else {
          const { version, createdMs, json } = write.checkpoint
          checkpoint.run(write.name, version, createdMs, json)
        }
      }
    })()
  }
}
