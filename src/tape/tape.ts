import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { LearnError, shortPath } from '../errors.js'
import { readText, temporaryPathFor, writeFileAtomic } from '../formats/files.js'
import { readTapeFile, tapeFormat, TapeFormatError, tapeText, type TapeFile } from '../formats/tape-file.js'
import type { LearnTapeEntry, LearnTapeRequest } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { redact } from '../redact.js'
import { explainMiss } from './diagnose.js'
import { noteLookup, recordInStep, trackSteps } from './step.js'

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
  /** Obsolete recordings this run removed (under -u, when every case succeeded). */
  removed: number
  /** Recordings of cases that failed in this run, none of whose calls replaced them: always kept. */
  kept: number
}

export interface TapeOptions {
  path: string
  spec: string
  mode: TapeMode
  /** The command that records missing calls, shown in every error. */
  recordCommand: string
  /** Values that must never reach the file (API keys). */
  secrets?: readonly string[]
  /**
   * A file outside snapshots/ where live answers are appended as they are kept, so a run that is
   * killed before it writes the tape resumes without paying for them again. Removed once the tape
   * is written.
   */
  journal?: string
  /**
   * A cache rather than a spec's recordings: entries this run did not use are never dropped, even
   * under `all` (which then only replaces what it asks again).
   */
  cache?: boolean
}

export interface TapeLookup {
  key: string
  entry?: LearnTapeEntry
}

/**
 * The recordings of one spec, modelled on @vitest/snapshot's per-file state: it is loaded once per
 * test file, counts what each call did, and is written once at the end through a temp file.
 *
 * A run removes only what it replaced: a live answer is kept only when the step that made it
 * succeeds (see step.ts), and under -u recordings no call used are dropped only when every case of
 * the spec ran and succeeded.
 */
export class Tape {
  readonly counters: TapeCounters = { recorded: 0, rerecorded: 0, replayed: 0, missing: 0, obsolete: 0, removed: 0, kept: 0 }
  private readonly fresh = new Map<string, LearnTapeEntry>()
  private readonly used = new Set<string>()
  private readonly occurrences = new Map<string, number>()
  private readonly casesRun = new Set<string>()
  private readonly casesSucceeded = new Set<string>()
  private readonly misses = new Map<string, LearnError[]>()

  private constructor(
    readonly options: TapeOptions,
    private readonly recorded: ReadonlyMap<string, LearnTapeEntry>,
    /** The format of the file as loaded; undefined when there was none (or a broken one, under -u). */
    private readonly loadedFormat: TapeFile['format'] | undefined,
    /** Answers a killed run paid for (the journal), served before anything else. */
    private readonly resumed: ReadonlyMap<string, LearnTapeEntry>,
    /** Why the file could not be read, under -u: it is replaced only by a run that re-records every case. */
    private readonly broken?: LearnError,
  ) {}

  static async load(options: TapeOptions): Promise<Tape> {
    const fix = options.mode === 'all' ? options.recordCommand : `fix or delete ${shortPath(options.path)}, or re-record it: ${options.recordCommand} -u`
    let tape: TapeFile | undefined
    let broken: LearnError | undefined
    try {
      tape = await readTapeFile(options.path, fix)
    } catch (error) {
      // Under -u a broken tape is re-recorded from scratch (see finish()); otherwise it is reported
      // and never overwritten. A newer format is not broken: it is never overwritten.
      if (options.mode !== 'all' || error instanceof TapeFormatError || !(error instanceof LearnError)) throw error
      broken = error
    }
    if (tape && tape.spec !== options.spec && options.mode !== 'all')
      throw new LearnError(`was recorded for spec "${tape.spec}", not "${options.spec}"`, { file: options.path, field: 'spec', fix })
    const entries = new Map((tape?.entries ?? []).map((entry) => [entry.key, entry]))
    const journaled = options.mode !== 'none' && options.journal !== undefined
    if (journaled) await mkdir(dirname(options.journal!), { recursive: true })
    const resumed = journaled ? await readJournal(options.journal!, options.spec) : new Map<string, LearnTapeEntry>()
    if (options.mode !== 'none') trackSteps()
    return new Tape(options, entries, tape?.format, resumed, broken)
  }

  get mode(): TapeMode {
    return this.options.mode
  }

  /** Values redacted from what the tape stores and from the requests it keys. */
  get secrets(): readonly string[] {
    return this.options.secrets ?? []
  }

  caseStarted(caseId: string): void {
    this.casesRun.add(caseId)
  }

  /** Every call of the case succeeded: under -u its old recordings may now be dropped. */
  caseSucceeded(caseId: string): void {
    this.casesSucceeded.add(caseId)
  }

  /** Finds the recording for the next occurrence of the request with this hash (see requestHash). */
  lookup(hash: string): TapeLookup {
    const occurrence = this.occurrences.get(hash) ?? 0
    this.occurrences.set(hash, occurrence + 1)
    noteLookup({
      undo: () => {
        if (this.occurrences.get(hash) === occurrence + 1) this.occurrences.set(hash, occurrence)
      },
    })
    const key = `${hash}#${occurrence}`
    const resumed = this.resumed.get(key)
    if (resumed) {
      this.keep(resumed, false)
      return { key, entry: resumed }
    }
    const entry = this.options.mode === 'all' ? undefined : this.recorded.get(key)
    if (entry) {
      this.used.add(key)
      this.counters.replayed++
    }
    return { key, entry }
  }

  /** Keeps a live answer, once the step that asked for it succeeds. */
  record(entry: LearnTapeEntry): void {
    recordInStep({ commit: () => this.keep(entry, true) })
  }

  private keep(entry: LearnTapeEntry, live: boolean): void {
    // A live answer replaces what this run kept under its key before (an answer resumed from the
    // journal whose tool calls were made again); it is counted once.
    const kept = this.fresh.has(entry.key)
    if (kept && !live) return
    if (!kept && this.recorded.has(entry.key)) this.counters.rerecorded++
    else if (!kept) this.counters.recorded++
    this.fresh.set(entry.key, entry)
    // On disk before anything else runs: a run killed a moment later must not pay for it again.
    if (live && this.options.journal) {
      try {
        appendFileSync(this.options.journal, this.journalLine(entry))
      } catch {
        // The journal only saves a killed run's money; the answer is still written to the tape.
      }
    }
  }

  private journalLine(entry: LearnTapeEntry): string {
    return `${redact(JSON.stringify(entry), this.secrets)}\n`
  }

  /**
   * After a write, the journal holds only what the file does not: usually nothing. Synchronous,
   * like the appends, so no answer kept meanwhile is dropped by the rewrite.
   */
  private trimJournal(written: ReadonlySet<string>): void {
    const journal = this.options.journal
    if (!journal) return
    const pending = [...this.fresh.values()].filter((entry) => !written.has(entry.key))
    if (pending.length === 0) return rmSync(journal, { force: true })
    const temporary = temporaryPathFor(journal)
    writeFileSync(temporary, pending.map((entry) => this.journalLine(entry)).join(''))
    renameSync(temporary, journal)
  }

  /** Notes a call that has no recording in replay-only mode and returns the error for its case. */
  miss(key: string, request: LearnTapeRequest, caseId: string, role: TapeRole): LearnError {
    return this.missing(caseId, key, `no recording for a ${role} call of case ${caseId} (${this.whyMissing(key, request, caseId, role)}). CI replays recordings only and calls no model`)
  }

  private whyMissing(key: string, request: LearnTapeRequest, caseId: string, role: TapeRole): string {
    const [hash, occurrence] = key.split('#') as [string, string]
    // The same request was recorded, fewer times than the run asks it: more samples than were recorded.
    if (Number(occurrence) > 0 && this.recorded.has(`${hash}#${Number(occurrence) - 1}`))
      return `the tape holds ${occurrence} answer(s) to this request and the run asks it again: fewer samples were recorded than \`samples\` asks for`
    const sameCase = [...this.recorded.values()].filter((entry) => entry.case === caseId && entry.role === role)
    return explainMiss(JSON.parse(redact(JSON.stringify(request), this.secrets)), sameCase)
  }

  /** Notes something replay-only mode cannot answer (a model call, a tool call): the error for its case, naming the recording `key`. */
  missing(caseId: string, key: string, message: string): LearnError {
    this.counters.missing++
    const error = new LearnError(`${message}.`, {
      file: this.options.path,
      field: key,
      fix: `${this.options.recordCommand} with the model's API key set, then commit ${shortPath(this.options.path)}`,
    })
    this.misses.set(caseId, [...(this.misses.get(caseId) ?? []), error])
    return error
  }

  missesOf(caseId: string): readonly LearnError[] {
    return this.misses.get(caseId) ?? []
  }

  /** The entries the file should hold after this run; `specCases` are the ids the spec declares now. */
  private finalEntries(specCases: ReadonlySet<string>): LearnTapeEntry[] {
    const old = [...this.recorded.values()].filter((entry) => !this.fresh.has(entry.key) && !this.used.has(entry.key))
    const failed = (entry: LearnTapeEntry) => this.casesRun.has(entry.case) && !this.casesSucceeded.has(entry.case)
    const obsolete = new Set(old.filter((entry) => !failed(entry) && (this.casesRun.has(entry.case) || !specCases.has(entry.case))))
    this.counters.obsolete = obsolete.size
    this.counters.kept = old.filter(failed).length
    const drop = this.options.mode === 'all' && !this.options.cache && [...specCases].every((caseId) => this.casesSucceeded.has(caseId))
    this.counters.removed = drop ? obsolete.size : 0
    const survivors = [...this.recorded.values()].filter((entry) => !this.fresh.has(entry.key) && !(drop && obsolete.has(entry)))
    return [...survivors, ...this.fresh.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /**
   * Counts obsolete entries and writes the file when its entries changed, or under -u when it is in
   * an older format (never in replay-only mode). A file is written only if its text would change.
   */
  async finish(specCases: ReadonlySet<string>): Promise<{ written: boolean }> {
    const entries = this.finalEntries(specCases)
    if (this.options.mode === 'none') return { written: false }
    if (this.broken && ![...specCases].every((caseId) => this.casesSucceeded.has(caseId))) throw this.keptBroken()
    const migrate = this.options.mode === 'all' && this.loadedFormat !== undefined && this.loadedFormat < tapeFormat
    const written = new Set(this.fresh.keys())
    let changed = this.fresh.size > 0 || this.counters.removed > 0 || migrate
    if (changed) {
      const text = redact(tapeText(this.options.spec, entries), this.secrets)
      changed = text !== (await readText(this.options.path))
      if (changed) await writeFileAtomic(this.options.path, text)
    }
    this.trimJournal(written)
    return { written: changed }
  }

  /**
   * A broken file replaced by a run that did not re-record every case (a filtered -u, or a case
   * that failed) would lose every other recording it still holds in some form (a merge conflict
   * is fixable by hand). It stays as it is; this run's answers stay in the journal for the next.
   */
  private keptBroken(): LearnError {
    const broken = this.broken!
    const paid = this.options.journal ? '; the answers this run paid for are kept for the next run' : ''
    return new LearnError(`${broken.detail.replace(/\.$/, '')}. This -u run did not re-record every case of the spec, so it does not replace the file${paid}`, {
      file: this.options.path,
      ...(broken.field ? { field: broken.field } : {}),
      fix: `re-record every case: ${this.options.recordCommand} -u, with no test filter; or fix the file by hand`,
    })
  }
}

/** Entries a killed run journaled; a torn last line (the kill) is skipped, and so is anything invalid. */
async function readJournal(path: string, spec: string): Promise<Map<string, LearnTapeEntry>> {
  const text = (await readText(path)) ?? ''
  const entries = new Map<string, LearnTapeEntry>()
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as LearnTapeEntry
      assertFormat('tape', { format: 1, spec, entries: [entry] }, path, '')
      entries.set(entry.key, entry)
    } catch {
      continue
    }
  }
  return entries
}
