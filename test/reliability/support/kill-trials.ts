// SIGKILL trials: a run (record, update, optimize) or a production process saving traces is killed
// at a seeded random moment, with every process it started. Then every file must validate, and
// the next run must recover: pass, leave no debris, and (record, update) not pay again for the
// answers the killed run journaled. Plain code, free of Vitest: tests run a few seeds, the bench
// a hundred and more.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { seededRandom } from '../../../src/stats.js'
import { createStorage, type AxCheckpoint, type AxTrace, type LearnStorage } from '../../../src/index.js'
import { startModelServer, type ModelServer } from '../../support/model-server.js'
import { createProject, type RunResult, type TempProject } from '../../support/project.js'
import { checkFiles } from './check-files.js'
import { SENTINEL, configSource, liveEnv, optimizeScript, optimizeSpecSource, recordScript, recordSpecSource } from './fixtures.js'

export const killKinds = ['record', 'update', 'optimize', 'files-store', 'sqlite-store'] as const
export type KillKind = (typeof killKinds)[number]

export interface KillOutcome {
  kind: KillKind
  seed: number
  /** Model requests (record, update, optimize) or acknowledged saves (stores) before the kill. */
  progress: number
  /** Files that failed to validate right after the kill. */
  invalid: string[]
  /** The next run passed (and, for runs, CI=true then replayed everything). */
  recovered: boolean
  /** Everything wrong, in words: invalid files, a failed recovery, debris left, calls paid again, records lost. */
  problems: string[]
  /** Calls the killed run had journaled or cached that the next run asked for again. */
  paidAgain: number
  /** Recordings, or acknowledged traces, feedback and checkpoints, that the kill lost. */
  lost: number
  /**
   * Runs: requests of an uninterrupted run; requests whose answer was not sent when the kill came;
   * answers kept (journaled, cached or recorded) at the kill; answers received but not kept; and
   * requests of the next run.
   */
  calls?: { full: number; unanswered: number; kept: number; unkept: number; next: number }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now()
  while (!condition() && Date.now() - started < timeoutMs) await sleep(5)
}

const cacheDir = (project: TempProject) => join(project.dir, 'node_modules/.cache/vitest-learn')

/** Keys of the entries of a tape (`lines` false) or journal file; a torn or missing file has none (checkFiles reports it). */
async function keysIn(path: string, lines: boolean): Promise<Set<string>> {
  const text = await readFile(path, 'utf8').catch(() => '')
  const parse = (json: string): unknown => {
    try {
      return JSON.parse(json)
    } catch {
      return undefined
    }
  }
  const entries = lines ? text.split('\n').map(parse) : ((parse(text) as { entries?: unknown[] } | undefined)?.entries ?? [])
  return new Set(entries.flatMap((entry) => (typeof (entry as { key?: unknown } | undefined)?.key === 'string' ? [(entry as { key: string }).key] : [])))
}

const union = (...sets: Set<string>[]) => new Set(sets.flatMap((set) => [...set]))

interface RunLab {
  project: TempProject
  /** Model requests of one uninterrupted run from the trial's starting state, and its duration. */
  fullRequests: number
  fullMs: number
  /** The starting state, restored before each trial. */
  reset(): Promise<void>
  /** The run to kill, and the one that must recover (the same command). */
  args: string[]
  bin: 'vitest' | 'learn'
}

/**
 * The projects and the scripted server the run trials share: one project per kind, set up once
 * (its first full run measures how many requests a whole run makes).
 */
export class KillLab {
  private server!: ModelServer
  private readonly labs = new Map<KillKind, RunLab>()
  private readonly latencyMs: number

  constructor(options: { latencyMs?: number } = {}) {
    this.latencyMs = options.latencyMs ?? 200
  }

  async start(): Promise<void> {
    this.server = await startModelServer({ script: recordScript, latencyMs: this.latencyMs })
  }

  async close(): Promise<void> {
    await this.server?.close()
    await Promise.all([...this.labs.values()].map((lab) => lab.project.remove()))
  }

  private get env() {
    return liveEnv(this.server.url)
  }

  private async lab(kind: 'record' | 'update' | 'optimize'): Promise<RunLab> {
    let lab = this.labs.get(kind)
    if (lab) return lab
    const optimize = kind === 'optimize'
    const project = await createProject({ 'vitest.config.ts': configSource(), 'support.learn.ts': optimize ? optimizeSpecSource() : recordSpecSource() })
    const snapshots = join(project.dir, 'snapshots')
    const clean = async () => {
      await rm(snapshots, { recursive: true, force: true })
      await rm(cacheDir(project), { recursive: true, force: true })
      this.server.reset()
      this.server.setScript(optimize ? optimizeScript() : recordScript)
    }
    let reset = clean
    if (kind === 'update') {
      // -u starts from a complete recording, kept aside.
      await clean()
      const recorded = await project.vitest([], this.env)
      if (recorded.code !== 0) throw new Error(`the update lab's first recording failed:\n${recorded.output}`)
      const baseline = join(project.dir, 'baseline')
      await cp(snapshots, baseline, { recursive: true })
      reset = async () => {
        await clean()
        await cp(baseline, snapshots, { recursive: true })
      }
    }
    const args = kind === 'update' ? ['-u'] : optimize ? ['--optimize'] : []
    const bin = optimize ? 'learn' : 'vitest'
    await reset()
    const started = performance.now()
    const full = bin === 'learn' ? await project.learn(args, this.env) : await project.vitest(args, this.env)
    if (full.code !== 0) throw new Error(`an uninterrupted ${kind} run failed:\n${full.output}`)
    lab = { project, fullRequests: this.server.requests, fullMs: performance.now() - started, reset, args, bin }
    this.labs.set(kind, lab)
    return lab
  }

  private run(lab: RunLab, args: string[], options: { ci?: boolean } = {}): Promise<RunResult> {
    const env = options.ci ? { ci: true } : this.env
    return lab.bin === 'learn' && !options.ci ? lab.project.learn(args, env) : lab.project.vitest(options.ci ? [] : args, env)
  }

  /** Kills a run at a moment drawn from `seed`, then checks the files and the next run. */
  async trial(kind: 'record' | 'update' | 'optimize', seed: number): Promise<KillOutcome> {
    const lab = await this.lab(kind)
    const random = seededRandom(seed)
    await lab.reset()
    const { project } = lab
    const tape = join(project.dir, 'snapshots/support/tape.json')
    const cache = join(cacheDir(project), 'support.json')
    /** Answers a next run can use instead of asking: in a journal or the call cache, or on the tape (but under -u, which asks again for what the tape holds). */
    const resumable = async () =>
      union(
        await keysIn(join(cacheDir(project), 'journal', 'support.jsonl'), true),
        await keysIn(join(cacheDir(project), 'journal', 'optimize-support.jsonl'), true),
        await keysIn(cache, false),
        kind === 'update' ? new Set() : await keysIn(tape, false),
      )
    const recorded = kind === 'update' ? await keysIn(tape, false) : new Set<string>()
    const tapeBefore = await readFile(tape, 'utf8').catch(() => undefined)

    // Most kills land while calls are made: after a seeded number of requests, within a call's
    // latency. Some land once every request is answered (answers kept, files written, the
    // reporter), and some anywhere from start-up on.
    const running = project.start(lab.args, { ...this.env, bin: lab.bin })
    const moment = random()
    if (moment < 0.6) {
      const requests = 1 + Math.floor(random() * lab.fullRequests)
      await until(() => this.server.requests >= requests, 60_000)
      await sleep(random() * this.latencyMs * 1.5)
    } else if (moment < 0.8) {
      await until(() => this.server.requests >= lab.fullRequests, 60_000)
      await sleep(this.latencyMs + random() * 300)
    } else {
      await sleep(random() * lab.fullMs)
    }
    const unanswered = this.server.inFlight
    await running.kill()
    const progress = this.server.requests
    const problems: string[] = []
    const afterKill = await checkFiles(project.dir)
    problems.push(...afterKill.invalid.map((problem) => `after the kill: ${problem}`))

    let lost = 0
    if (kind === 'update') {
      // Nothing recorded before may be missing: CI must still replay every case.
      const onTape = await keysIn(tape, false)
      lost = [...recorded].filter((key) => !onTape.has(key)).length
      if (lost > 0) problems.push(`the killed -u run lost ${lost} recording(s)`)
      const ci = await this.run(lab, [], { ci: true })
      if (ci.code !== 0) problems.push(`CI=true right after the killed -u run fails: ${firstError(ci.output)}`)
    }
    const known = await resumable()
    // Kept: what a next run can resume, and under -u also a tape the killed run rewrote.
    const rewritten = kind === 'update' && (await readFile(tape, 'utf8').catch(() => undefined)) !== tapeBefore
    const kept = rewritten ? union(known, await keysIn(tape, false)) : known
    const unkept = Math.max(0, progress - unanswered - kept.size)

    this.server.reset()
    if (kind === 'optimize') this.server.setScript(optimizeScript())
    const next = await this.run(lab, lab.args)
    const requests = this.server.requests
    const recovered = kind === 'optimize' ? optimizeRecovered(next) : next.code === 0
    if (!recovered) problems.push(`the next run failed: ${firstError(next.output)}`)
    const ci = await this.run(lab, [], { ci: true })
    if (ci.code !== 0) problems.push(`CI=true after the next run fails: ${firstError(ci.output)}`)
    const afterRecovery = await checkFiles(project.dir)
    problems.push(...afterRecovery.invalid.map((problem) => `after the next run: ${problem}`))
    problems.push(...afterRecovery.debris.map((file) => `left after the next run: ${file}`))

    // Every request of the next run must be for an answer nothing kept: a record or update run
    // asks exactly what neither the tape nor the journal holds; optimize adds one cache entry per
    // request (it may search further than the killed run, from a checkpoint that run wrote).
    const added = [...(await keysIn(cache, false))].filter((key) => !known.has(key)).length
    const paidAgain = kind === 'optimize' ? Math.max(0, requests - added) : requests - (lab.fullRequests - known.size)
    if (paidAgain !== 0) problems.push(`the next run asked again for ${paidAgain} answer(s) the killed run had kept`)
    const calls = { full: lab.fullRequests, unanswered, kept: kept.size, unkept, next: requests }
    return { kind, seed, progress, invalid: afterKill.invalid, recovered: recovered && ci.code === 0, problems, paidAgain, lost, calls }
  }
}

/** An optimize run recovered when it wrote a checkpoint, or failed only because it kept the current one. */
function optimizeRecovered(run: RunResult): boolean {
  if (run.code === 0) return true
  const failures = [...run.output.matchAll(/^ FAIL .*$/gm)].map((match) => match[0])
  return failures.length > 0 && failures.every((line) => / > optimize$/.test(line)) && /: kept (checkpoint v\d+|the seed instruction):/.test(run.output)
}

/** The first error line of a run's output, for a problem's description. */
function firstError(output: string): string {
  return (output.split('\n').find((line) => /Error|FAIL|fails?:|×/.test(line)) ?? output.slice(-300)).trim()
}

const writer = fileURLToPath(new URL('./trace-writer.mjs', import.meta.url))

interface Acknowledged {
  traces: Set<string>
  /** Trace id → the last feedback score acknowledged. */
  feedback: Map<string, number>
  checkpoints: Set<number>
}

/** Runs the trace writer; `killAfterMs` after it is ready it is killed (undefined: it runs its rounds and exits). */
function runWriter(url: string, cwd: string, options: { killAfterMs?: number; rounds?: number }): Promise<{ code: number | null; acked: Acknowledged; output: string }> {
  const args = [writer, url, 'agent', SENTINEL, ...(options.rounds === undefined ? [] : [String(options.rounds)])]
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const acked: Acknowledged = { traces: new Set(), feedback: new Map(), checkpoints: new Set() }
  let output = ''
  let pending = ''
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) {
      const [, what, id, score] = line.split(' ')
      if (line === 'ready' && options.killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
      else if (what === 'trace') acked.traces.add(id!)
      else if (what === 'feedback') acked.feedback.set(id!, Number(score))
      else if (what === 'checkpoint') acked.checkpoints.add(Number(id))
    }
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, acked, output }))
  })
}

/** What an acknowledged save that a fresh store no longer has: lost records. */
async function lostRecords(storage: LearnStorage, acked: Acknowledged): Promise<string[]> {
  const traces = (await storage.load('agent', { type: 'trace' })) as AxTrace[]
  const byId = new Map(traces.map((trace) => [trace.id, trace]))
  const checkpoints = new Set(((await storage.load('agent', { type: 'checkpoint' })) as AxCheckpoint[]).map((checkpoint) => checkpoint.version))
  return [
    ...[...acked.traces].filter((id) => !byId.has(id)).map((id) => `trace ${id}`),
    ...[...acked.feedback].filter(([id, score]) => byId.get(id)?.feedback?.score !== score).map(([id]) => `feedback of ${id}`),
    ...[...acked.checkpoints].filter((version) => !checkpoints.has(version)).map((version) => `checkpoint v${version}`),
  ]
}

/**
 * Kills an AxLearn process saving traces, feedback and checkpoints to a files store (.learn/) or
 * a SQLite database, in `dir`. Every acknowledged save must survive, the files validate, and the
 * next process runs its rounds and exits cleanly.
 */
export async function storeTrial(kind: 'files-store' | 'sqlite-store', seed: number, dir: string): Promise<KillOutcome> {
  const random = seededRandom(seed)
  const url = kind === 'files-store' ? `file:${join(dir, '.learn')}` : `sqlite:${join(dir, 'traces.db')}`
  await rm(join(dir, '.learn'), { recursive: true, force: true })
  await rm(join(dir, 'traces.db'), { force: true })
  await rm(join(dir, 'traces.db-wal'), { force: true })
  await rm(join(dir, 'traces.db-shm'), { force: true })
  const problems: string[] = []
  const killed = await runWriter(url, dir, { killAfterMs: Math.floor(random() * 1500) })
  const progress = killed.acked.traces.size + killed.acked.feedback.size + killed.acked.checkpoints.size
  const afterKill = kind === 'files-store' ? await checkFiles(dir, { stores: ['.learn'] }) : await checkSqlite(join(dir, 'traces.db'))
  problems.push(...afterKill.invalid.map((problem) => `after the kill: ${problem}`))

  const next = await runWriter(url, dir, { rounds: 2 })
  const recovered = next.code === 0
  if (!recovered) problems.push(`the next process failed: ${next.output.trim().split('\n')[0]}`)
  const storage = createStorage(url) as LearnStorage
  let lost: string[] = []
  try {
    lost = await lostRecords(storage, killed.acked)
  } catch (error) {
    problems.push(`a fresh store cannot read what was saved: ${(error as Error).message.split('\n')[0]}`)
  } finally {
    await storage.close()
  }
  problems.push(...lost.map((record) => `lost ${record}`))
  if (kind === 'files-store') {
    const afterRecovery = await checkFiles(dir, { stores: ['.learn'] })
    problems.push(...afterRecovery.invalid.map((problem) => `after the next process: ${problem}`))
    problems.push(...afterRecovery.debris.map((file) => `left after the next process: ${file}`))
  }
  return { kind, seed, progress, invalid: afterKill.invalid, recovered, problems, paidAgain: 0, lost: lost.length }
}

async function checkSqlite(path: string): Promise<{ invalid: string[] }> {
  const { default: Database } = await import('better-sqlite3')
  if (!existsSync(path)) return { invalid: [] }
  const db = new Database(path)
  try {
    const result = db.pragma('integrity_check', { simple: true })
    return { invalid: result === 'ok' ? [] : [`traces.db: integrity_check says ${String(result)}`] }
  } catch (error) {
    return { invalid: [`traces.db: ${(error as Error).message}`] }
  } finally {
    db.close()
  }
}
