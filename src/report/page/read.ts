// Tolerant readers for the report page: a file that is missing is undefined, and a file (or a line)
// that cannot be used becomes a warning naming it and its field, never an exception. The page is
// built from whatever is readable; nothing here ever writes.
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { LearnError } from '../../errors.js'
import { parseJsonText, readText } from '../../formats/files.js'
import { assertFormat, type FormatKind, type FormatTypes } from '../../formats/validate.js'
import type { ReportWarning } from './model.js'

const fix = 'the report skipped it; fix or restore the file (from version control), then build the report again'

/** Collects the warnings of one load, with paths shown relative to the project root. */
export class WarningLog {
  readonly items: ReportWarning[] = []

  constructor(private readonly root: string) {}

  shown(file: string): string {
    const below = relative(this.root, file)
    return below.startsWith('..') ? file : below
  }

  add(file: string, message: string): void {
    this.items.push({ file: this.shown(file), message })
  }

  /** Records an error raised while reading `file`: its field and message, without the location prefix. */
  addError(file: string, error: unknown): void {
    if (error instanceof LearnError) this.add(file, error.field ? `${error.field}: ${error.detail}` : error.detail)
    else this.add(file, error instanceof Error ? error.message : String(error))
  }
}

/** A JSON file of a known format; undefined when it is missing or unusable (then warned about). */
export async function readFormat<K extends FormatKind>(path: string, kind: K, log: WarningLog): Promise<FormatTypes[K] | undefined> {
  try {
    const text = await readText(path, fix)
    if (text === undefined) return undefined
    const value = parseJsonText(text, path, fix)
    assertFormat(kind, value, path, fix)
    return value
  } catch (error) {
    log.addError(path, error)
    return undefined
  }
}

/** The valid lines of a JSON-lines file; each bad line is skipped with a warning naming it. */
export async function readFormatLines<K extends FormatKind>(path: string, kind: K, log: WarningLog): Promise<FormatTypes[K][]> {
  let text: string | undefined
  try {
    text = await readText(path, fix)
  } catch (error) {
    log.addError(path, error)
  }
  if (text === undefined) return []
  const items: FormatTypes[K][] = []
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return
    const where = `${path}:${index + 1}`
    try {
      const value = parseJsonText(line, where, fix)
      assertFormat(kind, value, where, fix)
      items.push(value)
    } catch (error) {
      log.addError(where, error)
    }
  })
  return items
}

/** Names in a folder (files and folders), sorted; none when it does not exist. */
export async function listFolder(dir: string, log: WarningLog): Promise<{ files: string[]; folders: string[] }> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    const names = (keep: (entry: (typeof entries)[number]) => boolean) => entries.filter(keep).map((entry) => entry.name).sort()
    return { files: names((entry) => entry.isFile()), folders: names((entry) => entry.isDirectory()) }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') log.addError(dir, error)
    return { files: [], folders: [] }
  }
}

/** The JSON files of a folder, as paths. */
export async function jsonFilesIn(dir: string, log: WarningLog): Promise<string[]> {
  return (await listFolder(dir, log)).files.filter((name) => name.endsWith('.json')).map((name) => join(dir, name))
}
