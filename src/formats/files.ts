import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { LearnError } from '../errors.js'
import { isProcessAlive } from './process.js'
import { assertFormat, type FormatKind, type FormatTypes } from './validate.js'

/** `<file>.<pid>.<8 hex>.tmp`: the writer's pid tells a crashed writer's leftover from a live one's. */
const TEMPORARY = /^.+\.(\d+)\.[0-9a-f]{8}\.tmp$/

/** A sibling of `path` to write before renaming it over `path`, named after this process. */
export function temporaryPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
}

/**
 * Writes through a temporary file, flushed to disk, and a rename, so a reader (or a crash) never
 * leaves half a file. A writer killed before the rename leaves its temporary file behind, which
 * removeStaleTemporaries() deletes.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = temporaryPathFor(path)
  try {
    const handle = await open(temporary, 'wx')
    try {
      await handle.writeFile(text)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/**
 * Deletes the temporary files that writers killed mid-write left in `folder` (not below it): only
 * those whose process is gone, never a live writer's. Returns the names removed.
 */
export async function removeStaleTemporaries(folder: string): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(folder)
  } catch (error) {
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return []
    throw error
  }
  const stale = names.filter((name) => {
    const pid = TEMPORARY.exec(name)?.[1]
    return pid !== undefined && !isProcessAlive(Number(pid))
  })
  await Promise.all(stale.map((name) => rm(join(folder, name), { force: true })))
  return stale
}

export function toPrettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** A file's text; undefined when it does not exist. A path that cannot be read (a folder, no permission) is an error naming it. */
export async function readText(path: string, fix = 'make it a readable file, or delete it'): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    if (code === 'ENOENT') return undefined
    if (code === 'EISDIR') throw new LearnError('is a folder, where a file belongs; it was left untouched', { file: path, fix })
    throw new LearnError(`cannot be read (${message})`, { file: path, fix })
  }
}

/** Parses JSON text, naming the file when it is not JSON. */
export function parseJsonText(text: string, file: string, fix: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new LearnError(`is not valid JSON (${(error as Error).message}); it was left untouched`, { file, fix })
  }
}

/** Reads and validates a JSON file; undefined when it does not exist. */
export async function readJsonFile<K extends FormatKind>(
  path: string,
  kind: K,
  fix: string,
): Promise<FormatTypes[K] | undefined> {
  const text = await readText(path, fix)
  if (text === undefined) return undefined
  const value = parseJsonText(text, path, fix)
  assertFormat(kind, value, path, fix)
  return value
}

/** Reads and validates a JSON-lines file; an empty list when it does not exist. */
export async function readJsonLines<K extends FormatKind>(
  path: string,
  kind: K,
  fix: string,
): Promise<FormatTypes[K][]> {
  const text = await readText(path, fix)
  if (text === undefined) return []
  const items: FormatTypes[K][] = []
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return
    const where = `${path}:${index + 1}`
    const value = parseJsonText(line, where, fix)
    assertFormat(kind, value, where, fix)
    items.push(value)
  })
  return items
}
