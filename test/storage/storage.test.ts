import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AxFileStorage, AxMemoryStorage, AxPostgresStorage, AxSQLiteStorage, type LearnStorage } from '../../src/storage/index.js'
import { testStorage, type StorageFixture } from './conformance.js'
import { dropSchema, freshSchema, postgresSkip, postgresUrl, requirePostgres } from './support/postgres.js'

/** A fixture whose instances are all closed by cleanup, before `remove` deletes the data. */
function fixture(open: () => LearnStorage, remove: () => Promise<void>, reopenable = true): StorageFixture {
  const opened: LearnStorage[] = []
  const track = () => {
    const storage = open()
    opened.push(storage)
    return storage
  }
  return {
    storage: track(),
    ...(reopenable ? { reopen: async () => track() } : {}),
    cleanup: async () => {
      await Promise.all(opened.map((storage) => storage.close()))
      await remove()
    },
  }
}

const tempDir = () => mkdtemp(join(tmpdir(), 'learn-storage-'))

testStorage('memory', async () =>
  fixture(
    () => new AxMemoryStorage(),
    async () => {},
    false,
  ),
)

testStorage('files', async () => {
  const dir = await tempDir()
  return fixture(
    () => new AxFileStorage({ dir }),
    () => rm(dir, { recursive: true, force: true }),
  )
})

testStorage('sqlite', async () => {
  const dir = await tempDir()
  return fixture(
    () => new AxSQLiteStorage({ path: join(dir, 'traces.db') }),
    () => rm(dir, { recursive: true, force: true }),
  )
})

testStorage(
  'postgres',
  async () => {
    await requirePostgres()
    const schema = freshSchema()
    return fixture(
      () => new AxPostgresStorage({ connectionString: postgresUrl, schema }),
      () => dropSchema(schema),
    )
  },
  { skip: postgresSkip },
)
