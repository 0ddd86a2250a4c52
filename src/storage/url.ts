import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LearnError } from '../errors.js'
import { AxFileStorage, defaultFilesDir } from './files.js'
import type { LearnStorage } from './index.js'
import { AxMemoryStorage } from './memory.js'
import { AxPostgresStorage } from './postgres.js'
import { AxSQLiteStorage } from './sqlite.js'

export interface CreateStorageOptions {
  /** Folder that relative `file:` and `sqlite:` paths start from (default: process.cwd()). */
  root?: string
}

const FORMS = [
  'memory:',
  `file: (the folder ${defaultFilesDir}/) or file:./dir (a folder of its own, never snapshots/)`,
  'sqlite:./traces.db',
  'postgres://user:password@host:5432/database (or postgresql://)',
]

function invalid(url: string, why: string): LearnError {
  return new LearnError(`${JSON.stringify(url)} ${why}; accepted forms: ${FORMS.join(', ')}`, { field: 'storage' })
}

/** `file:///abs` is a file URL; anything else after the scheme is a path. */
function pathOf(url: string, scheme: string, root: string): string {
  const rest = url.slice(scheme.length)
  if (rest.startsWith('//')) return fileURLToPath(`file:${rest}`)
  return isAbsolute(rest) ? rest : resolve(root, rest)
}

/** Chooses an adapter from a URL, as the plugin's `traces.storage` option and AxLearn accept them. */
export function createStorage(url: string, options: CreateStorageOptions = {}): LearnStorage {
  if (typeof url !== 'string') throw invalid(String(url), 'is not a string')
  const root = options.root ?? process.cwd()
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase()
  switch (scheme) {
    case 'memory:':
      if (url.length > scheme.length) throw invalid(url, 'takes nothing after "memory:"')
      return new AxMemoryStorage()
    case 'file:':
      return new AxFileStorage({ dir: pathOf(url.length === scheme.length ? `${scheme}${defaultFilesDir}` : url, scheme, root) })
    case 'sqlite:': {
      const rest = url.slice(scheme.length)
      if (rest === '') throw invalid(url, 'needs a database file')
      return new AxSQLiteStorage({ path: rest === ':memory:' ? rest : pathOf(url, scheme, root) })
    }
    case 'postgres:':
    case 'postgresql:':
      // Not echoed: it may hold a password.
      if (!url.slice(scheme.length).startsWith('//')) throw invalid(`${scheme}…`, 'needs a host, as in postgres://host/database')
      return new AxPostgresStorage({ connectionString: url })
    default:
      throw invalid(url, 'is not a storage URL')
  }
}
