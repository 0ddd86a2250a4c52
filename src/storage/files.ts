import { mkdir, open, readFile, stat, truncate } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { LearnError } from '../errors.js'
import {
  historyVersions,
  readCurrentCheckpoint,
  readHistory,
  visibleVersions,
  writeCheckpointFiles,
} from '../formats/checkpoint-folder.js'
import { fromLearnCheckpoint, toLearnCheckpoint } from '../formats/checkpoint-mapping.js'
import { toPrettyJson, writeFileAtomic } from '../formats/files.js'
import { snapshotFiles } from '../formats/layout.js'
import { findSpecFolder, removeCrashDebris } from '../formats/spec-folders.js'
import type { LearnCheckpoint, LearnTraceLine } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { WriteBatcher } from './batch.js'
import { encodeCheckpoint, encodeTrace, fromTraceLine } from './codec.js'
import type { LearnStorage } from './index.js'
import { withFileLock, type LockOptions } from './lock.js'
import { selectCheckpoints, selectTraces } from './query.js'
import type { AxStorageItem, AxStorageQuery } from './types.js'
import { checkItem, checkName, checkQuery, closedError } from './validate.js'

// The files of a spec's snapshot folder, one folder per name, in a root of the store's own
// (default .learn/; never the plugin's snapshots/, which it refuses):
//   <dir>/<name>/traces.jsonl           one LearnTraceLine per line
//   <dir>/<name>/checkpoint.json        the current checkpoint (see formats/checkpoint-folder.ts)
//   <dir>/<name>/checkpoints/vN.json    history
// Writers take <dir>/<name>/.vitest-learn.lock, so processes sharing the folder never lose a write:
// new traces are appended as whole lines (O_APPEND); replacing a trace rewrites the file through a
// temporary file and a rename. Readers take no lock: they see whole files, and skip a last line
// that is still being appended. A writer that finds a torn last line (its writer died, or the
// disk filled up) cuts it off: under the lock nobody else can be appending it.

export const defaultFilesDir = '.learn'

export interface AxFileStorageOptions {
  /** The store's own folder (default `.learn`, relative to the working directory); never the plugin's snapshots/. */
  dir?: string
  lock?: LockOptions
}

const TRACES = 'traces.jsonl'
const FIX = 'fix or delete that line; vitest-learn never rewrites a file it cannot read'

type Write = { type: 'trace'; id: string; line: string } | { type: 'checkpoint'; version: number; text: string }

interface ParsedLine {
  id: string
  text: string
  line: LearnTraceLine
}

/** What a writer knows of traces.jsonl after reading or writing it under the lock. */
interface KnownLines {
  ino: number
  size: number
  lines: number
  endsWithNewline: boolean
  ids: Set<string>
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

/** `inProgress`: a reader without the lock skips an unterminated last line that does not parse yet. */
function parseTraceLines(path: string, text: string, firstLine: number, inProgress: boolean): ParsedLine[] {
  const parsed: ParsedLine[] = []
  const lines = text.split('\n')
  for (const [index, raw] of lines.entries()) {
    if (raw.trim() === '') continue
    const where = `${path}:${firstLine + index}`
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (error) {
      if (inProgress && index === lines.length - 1) break
      throw new LearnError(`is not valid JSON (${(error as Error).message}); the file was left untouched`, {
        file: where,
        fix: FIX,
      })
    }
    assertFormat('trace', value, where, FIX)
    parsed.push({ id: value.id, text: raw, line: value })
  }
  return parsed
}

async function readTail(path: string, from: number, to: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(to - from)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}

/** `text` without its torn last line (one with no newline that does not parse); undefined when there is none. */
function withoutTornLine(text: string): string | undefined {
  const end = text.lastIndexOf('\n') + 1
  const last = text.slice(end)
  if (last.trim() === '') return undefined
  try {
    JSON.parse(last)
    return undefined
  } catch {
    return text.slice(0, end)
  }
}

export class AxFileStorage implements LearnStorage {
  readonly dir: string
  readonly #lock: LockOptions
  readonly #batchers = new Map<string, WriteBatcher<Write>>()
  readonly #known = new Map<string, KnownLines>()
  readonly #opened = new Map<string, Promise<void>>()
  #closed = false

  constructor(options: AxFileStorageOptions = {}) {
    const dir = options.dir ?? defaultFilesDir
    if (typeof dir !== 'string' || dir === '') throw new LearnError('must be a folder path', { field: 'dir' })
    this.dir = resolve(dir)
    this.#lock = options.lock ?? {}
  }

  /** On a name's first use: refuses the plugin's snapshot folder, and clears what crashed writers left in the name's folder. */
  #open(name: string): Promise<void> {
    let opened = this.#opened.get(name)
    if (!opened) {
      opened = this.#checkRoot().then(() => removeCrashDebris(join(this.dir, name)))
      opened.catch(() => this.#opened.delete(name))
      this.#opened.set(name, opened)
    }
    return opened
  }

  async #checkRoot(): Promise<void> {
    const specFolder = await findSpecFolder(this.dir)
    if (specFolder === undefined) return
    throw new LearnError(
      `is the vitest-learn plugin's snapshot folder (it holds ${join(specFolder, 'tape.json')}); a files store must have a folder of its own, or test runs and the store would overwrite and remove each other's files`,
      {
        file: this.dir,
        fix: `use the default folder (storage: 'file:', which is ${defaultFilesDir}/) or another one, and move the agents' folders (traces.jsonl) there; to run the checkpoint the test suite commits, give AxLearn checkpoints: './snapshots'`,
      },
    )
  }

  async save(name: string, item: AxStorageItem): Promise<void> {
    if (this.#closed) throw closedError('file')
    checkName(name)
    const valid = checkItem(item)
    let write: Write
    if (valid.type === 'trace') write = { type: 'trace', id: valid.id, line: encodeTrace(valid).json }
    else {
      encodeCheckpoint(valid) // rejects what JSON cannot hold, naming the field
      write = { type: 'checkpoint', version: valid.version, text: toPrettyJson(toLearnCheckpoint(valid)) }
    }
    let batcher = this.#batchers.get(name)
    if (!batcher) this.#batchers.set(name, (batcher = new WriteBatcher((writes) => this.#write(name, writes))))
    await batcher.add(write)
  }

  async load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    if (this.#closed) throw closedError('file')
    checkName(name)
    const valid = checkQuery(query)
    await this.#open(name)
    await this.#batchers.get(name)?.flush()
    const folder = join(this.dir, name)
    return valid.type === 'trace' ? this.#loadTraces(folder, valid) : this.#loadCheckpoints(folder, valid)
  }

  async flush(): Promise<void> {
    await Promise.all([...this.#batchers.values()].map((batcher) => batcher.flush()))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.flush()
    this.#closed = true
  }

  async #write(name: string, writes: Write[]): Promise<void> {
    await this.#open(name)
    const folder = join(this.dir, name)
    await mkdir(folder, { recursive: true })
    const traces = new Map<string, string>()
    const checkpoints = new Map<number, string>()
    for (const write of writes) {
      if (write.type === 'trace') traces.set(write.id, write.line)
      else checkpoints.set(write.version, write.text)
    }
    await withFileLock(
      snapshotFiles(folder).lock,
      async () => {
        if (traces.size > 0) await this.#writeTraces(join(folder, TRACES), traces)
        await writeCheckpointFiles(folder, checkpoints)
      },
      this.#lock,
    )
  }

  /** Under the lock. Reads only what other writers appended since this instance last looked. */
  async #knownLines(path: string): Promise<KnownLines> {
    let info
    try {
      info = await stat(path)
    } catch (error) {
      if (!isMissing(error)) throw error
      this.#known.delete(path)
      return { ino: 0, size: 0, lines: 0, endsWithNewline: true, ids: new Set() }
    }
    const cached = this.#known.get(path)
    if (cached && cached.ino === info.ino && cached.endsWithNewline) {
      if (cached.size === info.size) return cached
      if (cached.size < info.size) {
        try {
          const tail = await readTail(path, cached.size, info.size)
          const added = parseTraceLines(path, tail, cached.lines + 1, false)
          for (const { id } of added) cached.ids.add(id)
          cached.size = info.size
          cached.lines += tail.split('\n').length - 1
          cached.endsWithNewline = tail.endsWith('\n')
          return cached
        } catch {
          // A torn last line, or a file replaced by one that reuses the inode number: read it whole.
        }
      }
    }
    const whole = await readFile(path, 'utf8')
    const complete = withoutTornLine(whole)
    const text = complete ?? whole
    // Parsed before the repair, so a file with a damaged line elsewhere is left untouched.
    const ids = new Set(parseTraceLines(path, text, 1, false).map((line) => line.id))
    if (complete !== undefined) await truncate(path, Buffer.byteLength(complete))
    const known: KnownLines = {
      ino: info.ino,
      size: Buffer.byteLength(text),
      lines: text.split('\n').length - 1,
      endsWithNewline: text === '' || text.endsWith('\n'),
      ids,
    }
    this.#known.set(path, known)
    return known
  }

  async #writeTraces(path: string, traces: Map<string, string>): Promise<void> {
    const known = await this.#knownLines(path)
    if (![...traces.keys()].some((id) => known.ids.has(id))) {
      const text = `${known.endsWithNewline ? '' : '\n'}${[...traces.values()].join('\n')}\n`
      const handle = await open(path, 'a')
      try {
        await handle.appendFile(text)
        const info = await handle.stat()
        for (const id of traces.keys()) known.ids.add(id)
        this.#known.set(path, {
          ...known,
          ino: info.ino,
          size: info.size,
          lines: known.lines + text.split('\n').length - 1,
          endsWithNewline: true,
        })
      } finally {
        await handle.close()
      }
      return
    }
    // An update: replace the line in place (and any duplicate a crashed writer may have left), keep every other line as it was.
    const lines: string[] = []
    const pending = new Map(traces)
    for (const { id, text } of parseTraceLines(path, await readFile(path, 'utf8'), 1, false)) {
      if (!traces.has(id)) lines.push(text)
      else if (pending.has(id)) {
        lines.push(traces.get(id) as string)
        pending.delete(id)
      }
    }
    lines.push(...pending.values())
    const text = `${lines.join('\n')}\n`
    await writeFileAtomic(path, text)
    const info = await stat(path)
    const ids = new Set([...known.ids, ...traces.keys()])
    this.#known.set(path, { ino: info.ino, size: info.size, lines: lines.length, endsWithNewline: true, ids })
  }

  async #loadTraces(folder: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    const path = join(folder, TRACES)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if (isMissing(error)) return []
      throw error
    }
    const rows = new Map<string, { id: string; startMs: number; hasFeedback: boolean; line: LearnTraceLine }>()
    for (const { id, line } of parseTraceLines(path, text, 1, true)) {
      rows.set(id, { id, startMs: Date.parse(line.startTime), hasFeedback: line.feedback !== undefined, line })
    }
    return selectTraces(rows.values(), query).map((row) => fromTraceLine(row.line))
  }

  async #loadCheckpoints(folder: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    const current = await readCurrentCheckpoint(folder)
    const versions = visibleVersions(current, await historyVersions(folder)).filter(
      (version) => query.version === undefined || version === query.version,
    )
    const rows = new Map<number, { version: number; createdMs: number; checkpoint: LearnCheckpoint }>()
    for (const checkpoint of await readHistory(folder, versions)) {
      rows.set(checkpoint.version, { version: checkpoint.version, createdMs: Date.parse(checkpoint.created), checkpoint })
    }
    // checkpoint.json is the file people read and edit, so it wins over the history copy of its version.
    if (current && (query.version === undefined || current.version === query.version)) {
      rows.set(current.version, { version: current.version, createdMs: Date.parse(current.created), checkpoint: current })
    }
    return selectCheckpoints(rows.values(), query).map((row) => fromLearnCheckpoint(row.checkpoint))
  }
}
