import { createHash } from 'node:crypto'
import type { Pool, PoolClient } from 'pg'
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

/** The usual pg.Pool options; anything else pg.Pool takes goes in `pool`. */
export interface PostgresPoolOptions {
  connectionString?: string
  host?: string
  port?: number
  user?: string
  password?: string
  database?: string
  ssl?: boolean | Record<string, unknown>
  /** Most connections the pool opens (pg's default: 10). */
  max?: number
  idleTimeoutMillis?: number
  connectionTimeoutMillis?: number
  /** Passed to pg.Pool as they are. */
  pool?: Record<string, unknown>
}

export interface AxPostgresStorageOptions extends PostgresPoolOptions {
  /** Postgres schema holding the tables, created when missing; default: the connection's search_path (usually public). */
  schema?: string
}

type Write = EncodedWrite

// Any constant will do: it only has to be the same in every process that creates the tables.
const SCHEMA_LOCK = 7_164_323_917
const MAX_ROWS = 1_000
const MAX_BYTES = 8 * 1024 * 1024

// Payloads are `json`, not `jsonb`: json keeps the text as written and accepts \u0000, which jsonb
// rejects, and nothing filters inside it. Names and ids use COLLATE "C" so ids order by code point,
// as in the other adapters.
function schemaSql(prefix: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${prefix}learn_traces (
      name text COLLATE "C" NOT NULL,
      id text COLLATE "C" NOT NULL,
      start_time timestamptz NOT NULL,
      has_feedback boolean NOT NULL,
      data json NOT NULL,
      PRIMARY KEY (name, id)
    );
    CREATE INDEX IF NOT EXISTS learn_traces_by_time ON ${prefix}learn_traces (name, start_time DESC, id);
    CREATE INDEX IF NOT EXISTS learn_traces_by_feedback ON ${prefix}learn_traces (name, has_feedback, start_time DESC, id);
    CREATE TABLE IF NOT EXISTS ${prefix}learn_checkpoints (
      name text COLLATE "C" NOT NULL,
      version bigint NOT NULL,
      created_at timestamptz NOT NULL,
      data json NOT NULL,
      PRIMARY KEY (name, version)
    );`
}

/** Tables made before versions were bigint: widened once, so versions above 2^31 fit as in the other adapters. */
async function widenVersions(client: PoolClient, schema: string | undefined): Promise<void> {
  const { rows } = await client.query<{ data_type: string }>(
    `SELECT data_type FROM information_schema.columns
     WHERE table_schema = coalesce($1::text, current_schema()) AND table_name = 'learn_checkpoints' AND column_name = 'version'`,
    [schema ?? null],
  )
  if (rows[0]?.data_type === 'integer') {
    await client.query(`ALTER TABLE ${schema ? `"${schema}".` : ''}learn_checkpoints ALTER COLUMN version TYPE bigint`)
  }
}

interface Table {
  name: string
  columns: string[]
  key: string[]
}

function tables(prefix: string): { traces: Table; checkpoints: Table } {
  return {
    traces: { name: `${prefix}learn_traces`, columns: ['name', 'id', 'start_time', 'has_feedback', 'data'], key: ['name', 'id'] },
    checkpoints: {
      name: `${prefix}learn_checkpoints`,
      columns: ['name', 'version', 'created_at', 'data'],
      key: ['name', 'version'],
    },
  }
}

/** A row's values in column order; the JSON payload comes last. */
type Row = [...unknown[], string]

function rowOf(write: Write): Row {
  if (write.type === 'trace') {
    const { id, startMs, hasFeedback, json } = write.trace
    return [write.name, id, new Date(startMs).toISOString(), hasFeedback, json]
  }
  const { version, createdMs, json } = write.checkpoint
  return [write.name, version, new Date(createdMs).toISOString(), json]
}

const CASTS: Record<string, string> = {
  start_time: '::timestamptz',
  created_at: '::timestamptz',
  data: '::json',
  has_feedback: '::boolean',
  version: '::bigint',
}

function upsertSql(table: Table, rows: number): string {
  const width = table.columns.length
  const tuples = Array.from(
    { length: rows },
    (_, row) => `(${table.columns.map((column, index) => `$${row * width + index + 1}${CASTS[column] ?? ''}`).join(', ')})`,
  )
  const updates = table.columns.filter((column) => !table.key.includes(column)).map((column) => `${column} = EXCLUDED.${column}`)
  return `INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (${table.key.join(', ')}) DO UPDATE SET ${updates.join(', ')}`
}

function selectSql(prefix: string, query: AxStorageQuery): { text: string; values: unknown[] } {
  const trace = query.type === 'trace'
  const time = trace ? 'start_time' : 'created_at'
  const where = ['name = $1']
  const values: unknown[] = []
  const filter = (clause: (parameter: string) => string, value: unknown) => {
    if (value === undefined) return
    values.push(value)
    where.push(clause(`$${values.length + 1}`))
  }
  filter((p) => `${time} >= ${p}::timestamptz`, query.since?.toISOString())
  filter((p) => `${time} <= ${p}::timestamptz`, query.until?.toISOString())
  filter((p) => `id = ${p}`, query.id)
  filter((p) => `version = ${p}::bigint`, query.version)
  filter((p) => `has_feedback = ${p}::boolean`, query.hasFeedback)
  values.push(query.limit ?? null, query.offset ?? 0)
  const table = trace ? `${prefix}learn_traces` : `${prefix}learn_checkpoints`
  const order = trace ? 'start_time DESC, id' : 'version DESC'
  return {
    text: `SELECT data FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${values.length}::bigint OFFSET $${values.length + 1}::bigint`,
    values,
  }
}

/** Splits rows so a statement stays under Postgres's parameter limit and a sane size. */
function chunks(rows: Row[]): Row[][] {
  const result: Row[][] = []
  let current: Row[] = []
  let bytes = 0
  for (const row of rows) {
    const size = (row[row.length - 1] as string).length
    if (current.length > 0 && (current.length >= MAX_ROWS || bytes + size > MAX_BYTES)) {
      result.push(current)
      current = []
      bytes = 0
    }
    current.push(row)
    bytes += size
  }
  if (current.length > 0) result.push(current)
  return result
}

/**
 * Tables are created on first use (under an advisory lock, so instances starting together do not
 * collide). Saves are queued and written as multi-row upserts, one transaction per turn of the
 * event loop; save() resolves once its transaction has committed.
 */
export class AxPostgresStorage implements LearnStorage {
  readonly schema: string | undefined
  readonly #options: AxPostgresStorageOptions
  readonly #prefix: string
  readonly #batcher = new WriteBatcher<Write>((writes) => this.#write(writes))
  readonly #pool = new LazyConnection<Pool>(() => this.#connect())
  #closed = false

  constructor(options: AxPostgresStorageOptions = {}) {
    if (options.schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(options.schema)) {
      throw new LearnError(`must be a plain Postgres identifier (letters, digits, _), got ${JSON.stringify(options.schema)}`, {
        field: 'schema',
      })
    }
    this.schema = options.schema
    this.#options = options
    this.#prefix = options.schema ? `"${options.schema}".` : ''
  }

  async save(name: string, item: AxStorageItem): Promise<void> {
    if (this.#closed) throw closedError('postgres')
    await this.#batcher.add(encodeWrite(name, item))
  }

  async load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    if (this.#closed) throw closedError('postgres')
    checkName(name)
    const valid = checkQuery(query)
    await this.#batcher.flush()
    const { text, values } = selectSql(this.#prefix, valid)
    // Named, so each connection prepares a query shape once.
    const statement = `learn_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
    const pool = await this.#ready()
    const { rows } = await pool.query<{ data: object }>({ name: statement, text, values: [name, ...values] })
    return rows.map((row) => (valid.type === 'trace' ? decodeTrace(row.data) : decodeCheckpoint(row.data)))
  }

  async flush(): Promise<void> {
    await this.#batcher.flush()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.flush()
    this.#closed = true
    const pool = await this.#pool.made()
    await pool?.end()
  }

  #ready(): Promise<Pool> {
    return this.#pool.get()
  }


  async #connect(): Promise<Pool> {
    const pg = await importOptional<typeof import('pg')>('pg', 'postgres storage', 'npm install pg')
    const { schema, pool: extra, ...options } = this.#options
    const pool = new pg.Pool({ ...extra, ...options })
    // An idle connection that drops emits 'error' on the pool, which would crash the process
    // unhandled; pg replaces the connection, and the next query reports a lasting problem.
    pool.on('error', () => {})
    let client: PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      await pool.end().catch(() => {})
      throw new LearnError(`cannot connect to Postgres: ${(error as Error).message}`, {
        fix: 'check the connection string (user, password, host, port, database) and that the server is running',
      })
    }
    try {
      await client.query('BEGIN')
      await client.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`)
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
      await client.query(schemaSql(this.#prefix))
      await widenVersions(client, schema)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      client.release()
      await pool.end().catch(() => {})
      throw error
    }
    client.release()
    return pool
  }

  async #write(writes: Write[]): Promise<void> {
    const pool = await this.#ready()
    // One statement may not upsert a row twice: keep the last save of each key, in key order so
    // concurrent writers lock rows in the same order.
    const latest = new Map<string, Write>()
    for (const write of writes) {
      latest.set(
        `${write.type}\u0000${write.name}\u0000${write.type === 'trace' ? write.trace.id : write.checkpoint.version}`,
        write,
      )
    }
    const sorted = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, write]) => write)
    const { traces, checkpoints } = tables(this.#prefix)
    const statements = [
      ...chunks(sorted.filter((write) => write.type === 'trace').map(rowOf)).map((rows) => ({ table: traces, rows })),
      ...chunks(sorted.filter((write) => write.type === 'checkpoint').map(rowOf)).map((rows) => ({ table: checkpoints, rows })),
    ].map(({ table, rows }) => ({ text: upsertSql(table, rows.length), values: rows.flat() }))
    // One statement is atomic by itself; more share a transaction, so a batch is stored whole or not at all.
    const only = statements.length === 1 ? statements[0] : undefined
    if (only) {
      await pool.query(only.text, only.values)
      return
    }
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      for (const { text, values } of statements) await client.query(text, values)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }
}
