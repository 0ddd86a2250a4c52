import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import { AxPostgresStorage, type AxTrace } from '../../src/storage/index.js'
import { dropSchema, freshSchema, postgresSkip, postgresUrl, requirePostgres } from './support/postgres.js'
import { at, makeCheckpoint, makeTrace } from './support/traces.js'

const schemas: string[] = []
function schema(): string {
  const name = freshSchema()
  schemas.push(name)
  return name
}
afterAll(async () => {
  if (!postgresSkip) await Promise.all(schemas.map(dropSchema))
})

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

describe.skipIf(postgresSkip !== undefined)(`AxPostgresStorage${postgresSkip ? ` (skipped: ${postgresSkip})` : ''}`, () => {
  beforeAll(requirePostgres)
  it('creates its tables and indexes on first use, once, even when instances start together', async () => {
    const name = schema()
    const stores = Array.from({ length: 5 }, () => new AxPostgresStorage({ connectionString: postgresUrl, schema: name, max: 2 }))
    try {
      await Promise.all(stores.map((store, i) => store.save('spec', makeTrace(`from-${i}`))))
      expect(await stores[0]?.load('spec', { type: 'trace' })).toHaveLength(5)
    } finally {
      await Promise.all(stores.map((store) => store.close()))
    }
    const indexes = await sql<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [name])
    expect(indexes.map((row) => row.indexname)).toEqual(
      expect.arrayContaining(['learn_traces_pkey', 'learn_traces_by_time', 'learn_traces_by_feedback', 'learn_checkpoints_pkey']),
    )
  })

  it('stores times in timestamptz columns, to the millisecond', async () => {
    const name = schema()
    const store = new AxPostgresStorage({ connectionString: postgresUrl, schema: name })
    await store.save('spec', makeTrace('t', { startTime: new Date('2024-02-29T23:59:59.999Z'), feedback: {} }))
    await store.close()
    const [row] = await sql<{ start_time: Date; has_feedback: boolean }>(
      `SELECT start_time, has_feedback FROM "${name}".learn_traces`,
    )
    expect(row?.start_time.toISOString()).toBe('2024-02-29T23:59:59.999Z')
    expect(row?.has_feedback).toBe(true)
  })

  it('splits large batches into several multi-row statements, in one transaction', async () => {
    const name = schema()
    const store = new AxPostgresStorage({ connectionString: postgresUrl, schema: name })
    const big = 'x'.repeat(1024 * 1024)
    await Promise.all([
      ...Array.from({ length: 2500 }, (_, i) => store.save('spec', makeTrace(`t${i}`, { startTime: at(i) }))),
      ...Array.from({ length: 10 }, (_, i) => store.save('spec', makeTrace(`big${i}`, { input: { big } }))),
    ])
    const all = (await store.load('spec', { type: 'trace' })) as AxTrace[]
    expect(all).toHaveLength(2510)
    expect(all.filter((trace) => trace.input.big === big)).toHaveLength(10)
    await store.close()
  })

  it('a failed batch rejects every save in it and stores none of them', async () => {
    const name = schema()
    const store = new AxPostgresStorage({ connectionString: postgresUrl, schema: name })
    await store.save('spec', makeTrace('first'))
    await sql(`ALTER TABLE "${name}".learn_traces ADD CONSTRAINT no_bad CHECK (id <> 'bad')`)
    const results = await Promise.allSettled([store.save('spec', makeTrace('ok')), store.save('spec', makeTrace('bad'))])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    expect(((await store.load('spec', { type: 'trace' })) as AxTrace[]).map((trace) => trace.id)).toEqual(['first'])
    await store.close()
  })

  it('widens the version column of tables made with integer versions, keeping their rows', async () => {
    const name = schema()
    await sql(`CREATE SCHEMA "${name}"`)
    await sql(`CREATE TABLE "${name}".learn_checkpoints (
      name text COLLATE "C" NOT NULL, version integer NOT NULL, created_at timestamptz NOT NULL, data json NOT NULL,
      PRIMARY KEY (name, version))`)
    const old = makeCheckpoint(1, { instruction: 'kept' })
    await sql(`INSERT INTO "${name}".learn_checkpoints VALUES ('spec', 1, $1, $2)`, [
      old.createdAt.toISOString(),
      JSON.stringify({ ...old, createdAt: old.createdAt.toISOString() }),
    ])
    const store = new AxPostgresStorage({ connectionString: postgresUrl, schema: name })
    const big = makeCheckpoint(2 ** 40, { createdAt: at(2000) })
    await store.save('spec', big)
    expect(await store.load('spec', { type: 'checkpoint' })).toStrictEqual([big, old])
    await store.close()
    const [column] = await sql<{ data_type: string }>(
      `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'learn_checkpoints' AND column_name = 'version'`,
      [name],
    )
    expect(column?.data_type).toBe('bigint')
  })

  it('an unreachable server fails with a LearnError that says so', async () => {
    const store = new AxPostgresStorage({
      connectionString: 'postgres://postgres:postgres@127.0.0.1:1/postgres',
      connectionTimeoutMillis: 2000,
    })
    const error = await store.load('spec', { type: 'trace' }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(LearnError)
    expect((error as Error).message).toMatch(/cannot connect to Postgres: .*ECONNREFUSED/)
    await store.close()
  })

  it('wrong credentials fail with a LearnError', async () => {
    const url = new URL(postgresUrl)
    url.password = 'wrong-password'
    const store = new AxPostgresStorage({ connectionString: url.href })
    await expect(store.save('spec', makeTrace('a'))).rejects.toThrow(/cannot connect to Postgres: .*password/)
    await store.close()
  })

  it('rejects a schema that is not a plain identifier', () => {
    expect(() => new AxPostgresStorage({ schema: 'x"; drop table y; --' })).toThrow(LearnError)
  })
})
