import { LearnError, shortPath } from '../errors.js'
import { readJsonFile, toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnTape, LearnTapeEntry, LearnTapeRequest } from '../formats/types.generated.js'
import { redact } from '../redact.js'
import { explainMiss } from './diagnose.js'
import { requestHash } from './request.js'

/** Vitest's snapshot update states: `new` records what is missing, `all` (-u) re-records, `none` (CI) replays only. */
export type TapeMode = 'new' | 'all' | 'none'
export type TapeRole = LearnTapeEntry['role']

export interface TapeCounters {
  /** Calls made live and added. */
  recorded: number
  /** Calls made live again under -u, replacing a recording. */
  rerecorded: number
  replayed: number
  /** Calls with no usable recording in CI (new, or stale after a change). */
  missing: number
  /** Recordings no call used (their case ran or no longer exists). */
  obsolete: number
}

export interface TapeOptions {
  path: string
  spec: string
  mode: TapeMode
  /** The command that records missing calls, shown in every error. */
  recordCommand: string
  /** Values that must never reach the file (API keys). */
  secrets?: readonly string[]
}

export interface TapeLookup {
  key: string
  entry?: LearnTapeEntry
}

/**
 * The recordings of one spec, modelled on @vitest/snapshot's per-file state: it is loaded once per
 * test file, counts what each call did, and is written once at the end through a temp file.
 */
export class Tape {
  readonly counters: TapeCounters = { recorded: 0, rerecorded: 0, replayed: 0, missing: 0, obsolete: 0 }
  private readonly fresh = new Map<string, LearnTapeEntry>()
  private readonly used = new Set<string>()
  private readonly occurrences = new Map<string, number>()
  private readonly casesRun = new Set<string>()
  private readonly misses = new Map<string, LearnError[]>()

  private constructor(
    readonly options: TapeOptions,
    private readonly recorded: ReadonlyMap<string, LearnTapeEntry>,
    private readonly loadedText: string | undefined,
  ) {}

  static async load(options: TapeOptions): Promise<Tape> {
    const fix = options.mode === 'all' ? options.recordCommand : `fix or delete ${shortPath(options.path)}, or re-record it: ${options.recordCommand} -u`
    let tape: LearnTape | undefined
    try {
      tape = await readJsonFile(options.path, 'tape', fix)
    } catch (error) {
      // Under -u a broken tape is re-recorded from scratch; otherwise it is reported and never overwritten.
      if (options.mode !== 'all') throw error
    }
    if (tape && tape.spec !== options.spec && options.mode !== 'all')
      throw new LearnError(`was recorded for spec "${tape.spec}", not "${options.spec}"`, { file: options.path, field: 'spec', fix })
    const entries = new Map((tape?.entries ?? []).map((entry) => [entry.key, entry]))
    return new Tape(options, entries, tape ? toPrettyJson(tape) : undefined)
  }

  get mode(): TapeMode {
    return this.options.mode
  }

  caseStarted(caseId: string): void {
    this.casesRun.add(caseId)
  }

  /** Finds the recording for the next occurrence of this request. */
  lookup(request: LearnTapeRequest): TapeLookup {
    const hash = requestHash(request)
    const occurrence = this.occurrences.get(hash) ?? 0
    this.occurrences.set(hash, occurrence + 1)
    const key = `${hash}#${occurrence}`
    const entry = this.options.mode === 'all' ? undefined : this.recorded.get(key)
    if (entry) {
      this.used.add(key)
      this.counters.replayed++
    }
    return { key, entry }
  }

  record(entry: LearnTapeEntry): void {
    if (this.recorded.has(entry.key)) this.counters.rerecorded++
    else this.counters.recorded++
    this.fresh.set(entry.key, entry)
  }

  /** Notes a call that has no recording in replay-only mode and returns the error for its case. */
  miss(key: string, request: LearnTapeRequest, caseId: string, role: TapeRole): LearnError {
    this.counters.missing++
    const sameCase = [...this.recorded.values()].filter((entry) => entry.case === caseId && entry.role === role)
    const error = new LearnError(
      `no recording for a ${role} call of case ${caseId} (${explainMiss(request, sameCase)}). CI replays recordings only and calls no model.`,
      { file: this.options.path, field: key, fix: `${this.options.recordCommand} with the model's API key set, then commit ${shortPath(this.options.path)}` },
    )
    this.misses.set(caseId, [...(this.misses.get(caseId) ?? []), error])
    return error
  }

  missesOf(caseId: string): readonly LearnError[] {
    return this.misses.get(caseId) ?? []
  }

  /** The entries the file should hold after this run; `specCases` are the ids the spec declares now. */
  private finalEntries(specCases: ReadonlySet<string>): LearnTapeEntry[] {
    const isObsolete = (entry: LearnTapeEntry) =>
      !this.used.has(entry.key) && !this.fresh.has(entry.key) && (this.casesRun.has(entry.case) || !specCases.has(entry.case))
    const kept = [...this.recorded.values()].filter((entry) => !this.fresh.has(entry.key))
    this.counters.obsolete = kept.filter(isObsolete).length
    const survivors = this.options.mode === 'all' ? kept.filter((entry) => !isObsolete(entry)) : kept
    return [...survivors, ...this.fresh.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Counts obsolete entries and writes the file if anything changed (never in replay-only mode). */
  async finish(specCases: ReadonlySet<string>): Promise<{ written: boolean }> {
    const tape: LearnTape = { format: 1, spec: this.options.spec, entries: this.finalEntries(specCases) }
    if (this.options.mode === 'none') return { written: false }
    const text = toPrettyJson(tape)
    if (text === this.loadedText || (tape.entries.length === 0 && this.loadedText === undefined)) return { written: false }
    await writeFileAtomic(this.options.path, redact(text, this.options.secrets ?? []))
    return { written: true }
  }
}
