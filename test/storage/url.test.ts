import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import { AxFileStorage, AxMemoryStorage, AxPostgresStorage, AxSQLiteStorage, createStorage } from '../../src/storage/index.js'

const root = '/srv/app'

describe('createStorage', () => {
  it('memory:', () => {
    expect(createStorage('memory:')).toBeInstanceOf(AxMemoryStorage)
  })

  it('file: paths, relative to root, absolute, and file:// URLs', () => {
    const relative = createStorage('file:./snapshots', { root })
    expect(relative).toBeInstanceOf(AxFileStorage)
    expect((relative as AxFileStorage).dir).toBe(join(root, 'snapshots'))
    expect((createStorage('file:traces', { root }) as AxFileStorage).dir).toBe(join(root, 'traces'))
    expect((createStorage('file:/var/learn', { root }) as AxFileStorage).dir).toBe('/var/learn')
    expect((createStorage(pathToFileURL('/var/my learn').href) as AxFileStorage).dir).toBe('/var/my learn')
    expect((createStorage('file:./x') as AxFileStorage).dir).toBe(join(process.cwd(), 'x'))
  })

  it('file: alone is the store’s own folder, .learn/, never snapshots/', () => {
    expect((createStorage('file:', { root }) as AxFileStorage).dir).toBe(join(root, '.learn'))
    expect(new AxFileStorage().dir).toBe(join(process.cwd(), '.learn'))
  })

  it('sqlite: files, relative to root, and :memory:', () => {
    expect((createStorage('sqlite:./traces.db', { root }) as AxSQLiteStorage).path).toBe(join(root, 'traces.db'))
    expect((createStorage('sqlite:/data/traces.db', { root }) as AxSQLiteStorage).path).toBe('/data/traces.db')
    expect((createStorage('sqlite::memory:') as AxSQLiteStorage).path).toBe(':memory:')
  })

  it('postgres:// and postgresql://', () => {
    expect(createStorage('postgres://u:p@db.internal:5432/app')).toBeInstanceOf(AxPostgresStorage)
    expect(createStorage('postgresql://localhost/app')).toBeInstanceOf(AxPostgresStorage)
    expect(createStorage('POSTGRES://localhost/app')).toBeInstanceOf(AxPostgresStorage)
  })

  it.each(['', 'redis://localhost', './traces', 'memory:extra', 'sqlite:', 'postgres:db', 'mysql://x'])(
    'rejects %j, listing the accepted forms',
    (url) => {
      let error: unknown
      try {
        createStorage(url)
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(LearnError)
      const message = (error as LearnError).message
      for (const form of ['memory:', 'file: (the folder .learn/)', 'file:./dir', 'sqlite:./traces.db', 'postgres://']) expect(message).toContain(form)
    },
  )

  it('does not echo a postgres URL that may hold a password', () => {
    expect(() => createStorage('postgres:user:secret@host')).toThrow(/^(?![\s\S]*secret)/)
  })
})
