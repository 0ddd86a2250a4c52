import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { LearnError } from '../errors.js'
import { fromLearnCheckpoint, toLearnCheckpoint } from '../formats/checkpoint-mapping.js'
import { readJsonFile, toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnCheckpoint, LearnTraceLine } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { WriteBatcher } from './batch.js'
import { encodeCheckpoint, encodeTrace, fromTraceLine } from './codec.js'
import type { LearnStorage } from './index.js'
import { withFileLock, type LockOptions } from './lock.js'
import { selectCheckpoints, selectTraces } from './query.js'
import type { AxStorageItem, AxStorageQuery } from './types.js'
import { checkItem, checkName, checkQuery, closedError } from './validate.js'

// The snapshots/ folder format, one folder per name:
//   <dir>/<name>/traces.jsonl           one LearnTraceLine per line
//   <dir>/<name>/checkpoint.json        the highest version
//   <dir>/<name>/checkpoints/vN.json    every version
// Writers take <dir>/<name>/.vitest-learn.lock, so processes sharing the folder never lose a write:
// new traces are appended as whole lines (O_APPEND); replacing a trace rewrites the file through a
// temporary file and a rename. Readers take no lock: they see whole files, and skip a last line
// that is still being appended.

export interface AxFileStorageOptions {
  dir: string
  lock?: LockOptions
}

const TRACES = 'traces.jsonl'
const CHECKPOINT = 'checkpoint.json'
const HISTORY = 'checkpoints'
const LOCK = '.vitest-learn.lock'
const FIX = 'fix or delete that line; vitest-learn never rewrites a file it cannot read'
const CHECKPOINT_FIX = 'fix that file, or restore it from version control'

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

async function listVersions(history: string): Promise<number[]> {
  try {
    return (await readdir(history)).flatMap((file) => {
      const match = /^v([1-9]\d*)\.json$/.exec(file)
      return match ? [Number(match[1])] : []
    })
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
}

export class AxFileStorage implements LearnStorage {
  readonly dir: string
  readonly #lock: LockOptions
  readonly #batchers = new Map<string, WriteBatcher<Write>>()
  readonly #known = new Map<string, KnownLines>()
  #closed = false

  constructor(options: AxFileStorageOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') throw new LearnError('must be a folder path', { field: 'dir' })
    this.dir = resolve(options.dir)
    this.#lock = options.lock ?? {}
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
    const folder = join(this.dir, name)
    await mkdir(folder, { recursive: true })
    const traces = new Map<string, string>()
    const checkpoints = new Map<number, string>()
    for (const write of writes) {
      if (write.type === 'trace') traces.set(write.id, write.line)
      else checkpoints.set(write.version, write.text)
    }
    await withFileLock(
      join(folder, LOCK),
      async () => {
        if (traces.size > 0) await this.#writeTraces(join(folder, TRACES), traces)
        if (checkpoints.size > 0) await this.#writeCheckpoints(folder, checkpoints)
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
          // The file was replaced by one that reuses the inode number: read it whole.
        }
      }
    }
    const text = await readFile(path, 'utf8')
    const known: KnownLines = {
      ino: info.ino,
      size: Buffer.byteLength(text),
      lines: text.split('\n').length - 1,
      endsWithNewline: text === '' || text.endsWith('\n'),
      ids: new Set(parseTraceLines(path, text, 1, false).map((line) => line.id)),
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

  async #writeCheckpoints(folder: string, checkpoints: Map<number, string>): Promise<void> {
    const currentPath = join(folder, CHECKPOINT)
    const history = join(folder, HISTORY)
    const current = await readJsonFile(currentPath, 'checkpoint', CHECKPOINT_FIX)
    const versions = new Set(await listVersions(history))
    // A checkpoint.json without its history file (written by hand, or by an older tool) is kept, not replaced.
    if (current && !versions.has(current.version)) {
      await writeFileAtomic(join(history, `v${current.version}.json`), await readFile(currentPath, 'utf8'))
      versions.add(current.version)
    }
    for (const [version, text] of checkpoints) {
      await writeFileAtomic(join(history, `v${version}.json`), text)
      versions.add(version)
    }
    const newest = Math.max(...checkpoints.keys())
    if (newest >= Math.max(...versions)) await writeFileAtomic(currentPath, checkpoints.get(newest) as string)
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
    const history = join(folder, HISTORY)
    const versions = (await listVersions(history)).filter((version) => query.version === undefined || version === query.version)
    const read = (path: string) => readJsonFile(path, 'checkpoint', CHECKPOINT_FIX)
    const [current, ...files] = await Promise.all([
      read(join(folder, CHECKPOINT)),
      ...versions.map((v) => read(join(history, `v${v}.json`))),
    ])
    const rows = new Map<number, { version: number; createdMs: number; checkpoint: LearnCheckpoint }>()
    files.forEach((checkpoint, index) => {
      const version = versions[index] as number
      if (!checkpoint) return
      if (checkpoint.version !== version) {
        throw new LearnError(`is ${checkpoint.version}, but the file name says v${version}`, {
          file: join(history, `v${version}.json`),
          field: 'version',
          fix: CHECKPOINT_FIX,
        })
      }
      rows.set(version, { version, createdMs: Date.parse(checkpoint.created), checkpoint })
    })
    // checkpoint.json is the file people read and edit, so it wins over the history copy of its version.
    if (current && (query.version === undefined || current.version === query.version)) {
      rows.set(current.version, { version: current.version, createdMs: Date.parse(current.created), checkpoint: current })
    }
    return selectCheckpoints(rows.values(), query).map((row) => fromLearnCheckpoint(row.checkpoint))
  }
}
