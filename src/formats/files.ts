import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { LearnError } from '../errors.js'
import { assertFormat, type FormatKind, type FormatTypes } from './validate.js'

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temporary, text)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

export function toPrettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** A file's text; undefined when it does not exist. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
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
  const text = await readText(path)
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
  const text = await readText(path)
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
