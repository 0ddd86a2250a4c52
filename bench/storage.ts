// Storage benchmark: saves per second (awaited one by one, and 1,000 at a time) and the time to
// load and filter 100,000 traces, for each adapter, with ratios against the in-memory adapter.
//   node --import ./test/storage/support/register-ts.mjs bench/storage.ts
// Postgres: LEARN_TEST_POSTGRES_URL (default postgres://postgres:postgres@127.0.0.1:5432/postgres);
// LEARN_TEST_POSTGRES=skip leaves it out. Sizes: BENCH_SINGLE, BENCH_BATCHED, BENCH_LOAD.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import {
  AxFileStorage,
  AxMemoryStorage,
  AxPostgresStorage,
  AxSQLiteStorage,
  type AxTrace,
  type LearnStorage,
} from '../src/storage/index.js'

const SINGLE = Number(process.env.BENCH_SINGLE ?? 2_000)
const BATCHED = Number(process.env.BENCH_BATCHED ?? 20_000)
const LOAD = Number(process.env.BENCH_LOAD ?? 100_000)
const BATCH = 1_000
const T0 = Date.UTC(2024, 0, 1)
const POSTGRES_URL = process.env.LEARN_TEST_POSTGRES_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres'

interface Adapter {
  name: string
  open: () => Promise<{ storage: LearnStorage; cleanup: () => Promise<void> }>
}

interface Result {
  name: string
  single: number
  batched: number
  loadMs: number
  loadColdMs: number
}

/** A trace as AxLearn logs it: about 600 bytes of JSON; every fifth one has feedback. */
function trace(name: string, i: number): AxTrace {
  const startTime = new Date(T0 + i * 1000)
  return {
    type: 'trace',
    id: `${name}-${i.toString(36).padStart(6, '0')}`,
    name,
    input: { customer_query: `Where is my order #${10_000 + i}? It was due last week and the tracking page shows nothing.` },
    output: {
      polite_reply: `Sorry for the wait! Order #${10_000 + i} left our warehouse yesterday; you will get a tracking link by email today.`,
    },
    startTime,
    endTime: new Date(startTime.getTime() + 850),
    durationMs: 850,
    model: 'gpt-4o-mini',
    usage: { promptTokens: 182, completionTokens: 41, totalTokens: 223 },
    ...(i % 5 === 0 ? { feedback: { score: (i % 10) / 10, label: i % 10 ? 'good' : 'bad' } } : {}),
    metadata: { requestId: `req-${i}`, region: 'eu-west-1' },
  }
}

async function saveBatched(storage: LearnStorage, name: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => storage.save(name, trace(name, start + k))),
    )
  }
}

async function measure(adapter: Adapter): Promise<Result> {
  const { storage, cleanup } = await adapter.open()
  try {
    await storage.save('warm-up', trace('warm-up', 0))

    let started = performance.now()
    for (let i = 0; i < SINGLE; i++) await storage.save('single', trace('single', i))
    const single = SINGLE / ((performance.now() - started) / 1000)

    started = performance.now()
    await saveBatched(storage, 'batched', BATCHED)
    const batched = BATCHED / ((performance.now() - started) / 1000)

    await saveBatched(storage, 'load', LOAD)
    const query = { type: 'trace', hasFeedback: true, since: new Date(T0 + (LOAD / 2) * 1000), limit: 100 } as const
    const timings: number[] = []
    for (let run = 0; run < 5; run++) {
      started = performance.now()
      const found = await storage.load('load', query)
      timings.push(performance.now() - started)
      if (found.length !== 100) throw new Error(`${adapter.name}: the load query found ${found.length} traces, not 100`)
    }
    const sorted = [...timings].sort((a, b) => a - b)
    return { name: adapter.name, single, batched, loadColdMs: timings[0] ?? 0, loadMs: sorted[2] ?? 0 }
  } finally {
    await storage.close()
    await cleanup()
  }
}

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'learn-bench-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

async function postgresAdapter(): Promise<Adapter | string> {
  if (process.env.LEARN_TEST_POSTGRES === 'skip') return 'LEARN_TEST_POSTGRES=skip'
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  try {
    await admin.connect()
    await admin.end()
  } catch (error) {
    return `no server at ${new URL(POSTGRES_URL).host} (${(error as Error).message})`
  }
  return {
    name: 'postgres',
    open: async () => {
      const schema = `learn_bench_${process.pid}`
      const drop = async () => {
        const client = new pg.Client({ connectionString: POSTGRES_URL })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await client.end()
      }
      await drop()
      return { storage: new AxPostgresStorage({ connectionString: POSTGRES_URL, schema }), cleanup: drop }
    },
  }
}

const adapters: Adapter[] = [
  { name: 'memory', open: async () => ({ storage: new AxMemoryStorage(), cleanup: async () => {} }) },
  {
    name: 'files',
    open: async () => {
      const { dir, cleanup } = await tempDir()
      return { storage: new AxFileStorage({ dir }), cleanup }
    },
  },
  {
    name: 'sqlite',
    open: async () => {
      const { dir, cleanup } = await tempDir()
      return { storage: new AxSQLiteStorage({ path: join(dir, 'traces.db') }), cleanup }
    },
  },
]
const postgres = await postgresAdapter()
if (typeof postgres === 'string') console.log(`postgres: skipped, ${postgres}`)
else adapters.push(postgres)

console.log(
  `node ${process.version}; ${SINGLE} single saves, ${BATCHED} batched saves (${BATCH} at a time), load + filter of ${LOAD} traces`,
)
const results: Result[] = []
for (const adapter of adapters) {
  results.push(await measure(adapter))
  console.log(`  ${adapter.name} done`)
}

const memory = results[0] as Result
const rate = (value: number) => Math.round(value).toLocaleString('en-US')
const ms = (value: number) => value.toFixed(value < 10 ? 2 : 0)
const times = (value: number) => `${value >= 10 ? value.toFixed(0) : value.toFixed(1)}x`
const rows = [
  [
    'adapter',
    'single saves/s',
    'batched saves/s',
    `load+filter ${LOAD / 1000}k (ms)`,
    'first load (ms)',
    'single vs memory',
    'batched vs memory',
    'load vs memory',
  ],
  ...results.map((result) => [
    result.name,
    rate(result.single),
    rate(result.batched),
    ms(result.loadMs),
    ms(result.loadColdMs),
    times(memory.single / result.single),
    times(memory.batched / result.batched),
    times(result.loadMs / memory.loadMs),
  ]),
]
const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
for (const [index, row] of rows.entries()) {
  console.log(`| ${row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ')} |`)
  if (index === 0) console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`)
}
console.log('(single/batched vs memory: how many times slower; load vs memory: how many times longer)')
