import pg from 'pg'

// Tests run against a real server (see .ci/run): LEARN_TEST_POSTGRES_URL names it, and each test
// uses a schema of its own, dropped afterwards, so runs never see each other's rows.
// LEARN_TEST_POSTGRES=skip skips them, saying so; otherwise an unreachable server fails them.

export const postgresUrl = process.env.LEARN_TEST_POSTGRES_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres'

export const postgresSkip = process.env.LEARN_TEST_POSTGRES === 'skip' ? 'LEARN_TEST_POSTGRES=skip' : undefined

let counter = 0

export function freshSchema(): string {
  return `learn_test_${process.pid}_${Date.now().toString(36)}_${counter++}`
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

let reachable: Promise<void> | undefined

/**
 * Fails at once, saying what to run, when no server answers at postgresUrl: a fresh machine has
 * none until `bash scripts/setup-postgres.sh` (which `npm test` runs first) could install one.
 */
export function requirePostgres(): Promise<void> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 10_000 })
    try {
      await client.connect()
    } catch (error) {
      const { hostname, port } = new URL(postgresUrl)
      throw new Error(
        `the Postgres storage tests need a PostgreSQL server at ${hostname}:${port}, and none answers (${(error as Error).message}).\n` +
          '  fix: as root, run `bash scripts/setup-postgres.sh` (npm test runs it first, through sudo when not root);\n' +
          '  or set LEARN_TEST_POSTGRES_URL to a server; or skip these tests knowingly with LEARN_TEST_POSTGRES=skip',
      )
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return reachable
}
