import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LearnError } from '../../src/errors.js'
import { AxSQLiteStorage } from '../../src/storage/index.js'
import { importOptional } from '../../src/storage/optional.js'
import { makeTrace } from './support/traces.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'learn-sqlite-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('AxSQLiteStorage', () => {
  it('creates its folder and a WAL database with indexes for the query fields', async () => {
    const path = join(dir, 'nested', 'traces.db')
    const storage = new AxSQLiteStorage({ path })
    await storage.save('spec', makeTrace('a', { feedback: { score: 1 } }))
    await storage.close()
    const db = new Database(path, { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[]).map(
        (row) => row.name,
      )
      expect(indexes).toEqual(expect.arrayContaining(['learn_traces_by_time', 'learn_traces_by_feedback']))
      const plan = db
        .prepare(
          'EXPLAIN QUERY PLAN SELECT data FROM learn_traces WHERE name = ? AND start_ms >= ? AND has_feedback = ? ORDER BY start_ms DESC, id LIMIT 100',
        )
        .all('spec', 0, 1) as { detail: string }[]
      expect(plan.map((row) => row.detail).join('\n')).toMatch(/USING (COVERING )?INDEX learn_traces_by_feedback/)
      expect(plan.map((row) => row.detail).join('\n')).not.toMatch(/TEMP B-TREE/)
    } finally {
      db.close()
    }
  })

  it('writes the saves of one turn of the event loop in one transaction', async () => {
    const storage = new AxSQLiteStorage({ path: join(dir, 'traces.db') })
    await storage.save('spec', makeTrace('warm-up'))
    const transactions = vi.spyOn(Database.prototype, 'transaction')
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => storage.save('spec', makeTrace(`t${i}`))))
      expect(transactions).toHaveBeenCalledTimes(1)
      await storage.save('spec', makeTrace('single'))
      expect(transactions).toHaveBeenCalledTimes(2)
    } finally {
      transactions.mockRestore()
    }
    expect(await storage.load('spec', { type: 'trace' })).toHaveLength(502)
    await storage.close()
  })

  it('a missing optional package names what to install', async () => {
    const error = await importOptional('better-sqlite3-not-installed', 'sqlite storage', 'npm install better-sqlite3@12').catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(LearnError)
    expect((error as Error).message).toBe('sqlite storage needs better-sqlite3-not-installed: npm install better-sqlite3@12')
  })

  it('reports a database it cannot open, and retries on the next call', async () => {
    const storage = new AxSQLiteStorage({ path: join(dir, 'file-not-folder', 'traces.db') })
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'file-not-folder'), ''))
    await expect(storage.load('spec', { type: 'trace' })).rejects.toThrow()
    await rm(join(dir, 'file-not-folder'))
    expect(await storage.load('spec', { type: 'trace' })).toEqual([])
    await storage.close()
  })
})
