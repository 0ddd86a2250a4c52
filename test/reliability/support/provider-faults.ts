// Provider faults during record, update (-u) and optimize: a fault that passes (a few failed
// requests) is retried and the run passes; one that lasts fails the run with an error naming the
// URL and the status or cause, never a recording: the tape stays byte-identical under -u, and no
// checkpoint is written from failed calls. Plain code, free of Vitest.
import { closedPort } from '../../support/closed-port.js'
import { cp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { startModelServer, type Fault, type ModelServer, type Script } from '../../support/model-server.js'
import { createProject, type RunResult, type TempProject } from '../../support/project.js'
import { changedFiles, checkFiles, fingerprint } from './check-files.js'
import { configSource, liveEnv, optimizeScript, optimizeSpecSource, recordScript, recordSpecSource, SENTINEL } from './fixtures.js'

export const faultKinds = ['401', '429', '500', 'hang', 'malformed', 'reset', 'refused'] as const
export type FaultKind = (typeof faultKinds)[number]
export const faultPhases = ['record', 'update', 'optimize'] as const
export type FaultPhase = (typeof faultPhases)[number]

export interface FaultOutcome {
  phase: FaultPhase
  fault: FaultKind
  /** A few failed requests (`transient`), or every request from the fault on. */
  lasting: boolean
  verdict: 'handled' | 'unclear' | 'lost' | 'wrong'
  detail: string
  requests: number
}

const faults: Record<Exclude<FaultKind, 'refused'>, Fault> = {
  '401': { status: 401, message: `Incorrect API key provided: ${SENTINEL}` },
  '429': { status: 429, retryAfter: '0', message: 'Rate limit reached' },
  '500': { status: 500, message: 'The server had an error' },
  hang: 'hang',
  malformed: 'malformed',
  reset: 'reset',
}

/** What a clear error for each fault says, after "the <role> model (openai <model> at <url>) ". */
const explained: Record<FaultKind, RegExp> = {
  '401': /refused the API key: HTTP 401/,
  '429': /is rate limited: HTTP 429/,
  '500': /failed: HTTP 500/,
  hang: /gave no answer (within|before)/,
  malformed: /answered with a body that is not JSON/,
  reset: /dropped the connection/,
  refused: /is unreachable: connection refused \(ECONNREFUSED\)/,
}

/** Every trial: each fault in each phase, passing (but 'refused', which cannot pass mid-run with the server up) and lasting. */
export const faultTrials: { phase: FaultPhase; fault: FaultKind; lasting: boolean }[] = faultPhases.flatMap((phase) =>
  faultKinds.flatMap((fault) => [false, true].filter((lasting) => lasting || fault !== 'refused').map((lasting) => ({ phase, fault, lasting }))),
)

/** Requests into a run after which the fault starts: mid-run, once some answers are in. */
const faultAfter: Record<FaultPhase, number> = { record: 4, update: 4, optimize: 20 }

export class FaultLab {
  private server!: ModelServer
  private readonly projects = new Map<FaultPhase, { project: TempProject; reset: () => Promise<void> }>()

  async start(): Promise<void> {
    this.server = await startModelServer({ script: recordScript })
  }

  async close(): Promise<void> {
    await this.server?.close()
    await Promise.all([...this.projects.values()].map(({ project }) => project.remove()))
  }

  private async lab(phase: FaultPhase) {
    let lab = this.projects.get(phase)
    if (lab) return lab
    const optimize = phase === 'optimize'
    const project = await createProject({ 'vitest.config.ts': configSource({ attemptTimeoutMs: 1000 }), 'support.learn.ts': optimize ? optimizeSpecSource() : recordSpecSource() })
    const snapshots = join(project.dir, 'snapshots')
    const clean = async () => {
      await rm(snapshots, { recursive: true, force: true })
      await rm(join(project.dir, 'node_modules/.cache'), { recursive: true, force: true })
      this.server.reset()
      this.server.setScript(optimize ? optimizeScript() : recordScript)
    }
    let reset = clean
    if (phase === 'update') {
      await clean()
      const recorded = await project.vitest([], liveEnv(this.server.url))
      if (recorded.code !== 0) throw new Error(`the update lab's recording failed:\n${recorded.output}`)
      await cp(snapshots, join(project.dir, 'baseline'), { recursive: true })
      reset = async () => {
        await clean()
        await cp(join(project.dir, 'baseline'), snapshots, { recursive: true })
      }
    }
    lab = { project, reset }
    this.projects.set(phase, lab)
    return lab
  }

  /**
   * One fault in one phase; `lasting`: every request from the fault on fails (with 'refused',
   * nothing listens at all), else 2 requests fail.
   */
  async trial(phase: FaultPhase, fault: FaultKind, lasting: boolean): Promise<FaultOutcome> {
    const { project, reset } = await this.lab(phase)
    await reset()
    const base = { phase, fault, lasting }
    let url = this.server.url
    if (fault === 'refused') {
      url = `http://127.0.0.1:${await closedPort()}/v1`
    } else {
      const script = phase === 'optimize' ? optimizeScript() : recordScript
      const injected: Script = (call) => {
        if (call.requestIndex === faultAfter[phase] - 1) this.server.failNext(lasting ? 100_000 : 2, faults[fault])
        return script(call)
      }
      this.server.setScript(injected)
    }
    const tapePath = join(project.dir, 'snapshots/support/tape.json')
    const recorded = await tapeKeys(tapePath)
    const before = await fingerprint(project.dir)
    const env = liveEnv(url)
    const run: RunResult = phase === 'optimize' ? await project.learn(['--optimize'], env) : await project.vitest(phase === 'update' ? ['-u'] : [], env)
    const requests = this.server.requests
    this.server.reset()
    const after = await fingerprint(project.dir)
    const keysOnTape = await tapeKeys(tapePath)
    const files = await checkFiles(project.dir)
    const detail = (text: string) => ({ ...base, requests, detail: text })
    if (files.invalid.length > 0) return { ...detail(files.invalid.join('; ')), verdict: 'lost' }
    if (run.output.includes(SENTINEL)) return { ...detail('the output holds the API key'), verdict: 'wrong' }

    // Whatever the run did, nothing recorded may go: under -u, answers of steps that succeeded
    // before the fault may replace their recordings, and CI must replay every case still.
    if (phase === 'update') {
      const lost = [...recorded].filter((key) => !keysOnTape.has(key))
      if (lost.length > 0) return { ...detail(`${lost.length} recording(s) gone after the -u run`), verdict: 'lost' }
      const ci = await project.vitest([], { ci: true })
      if (ci.code !== 0) return { ...detail(`CI fails after the -u run: ${firstError(ci.output)}`), verdict: 'lost' }
    }
    if (run.code === 0) {
      // Passing is right for a fault that passes, and for a refused key met twice by optimize,
      // which scores the calls it lost as failures and goes on; never for a lasting fault.
      if (lasting) return { ...detail('the run passed although every request failed'), verdict: 'wrong' }
      if (phase !== 'update') {
        const ci = await project.vitest([], { ci: true })
        if (ci.code !== 0) return { ...detail(`CI fails after the run: ${firstError(ci.output)}`), verdict: 'lost' }
      }
      return { ...detail('the run passed and CI replays it'), verdict: 'handled' }
    }
    // A fault that passes is retried, except a refused key, which fails its calls at once.
    if (!lasting && fault !== '401') return { ...detail(`a passing fault failed the run: ${firstError(run.output)}`), verdict: 'wrong' }
    if (phase === 'optimize') {
      const written = changedFiles(before, after).filter((path) => /checkpoint/.test(path))
      if (written.length > 0) return { ...detail(`wrote ${written.join(', ')} from failed calls`), verdict: 'wrong' }
    }
    const errorLine = run.output.split('\n').find((line) => explained[fault].test(line))
    const names = errorLine !== undefined && errorLine.includes(`at ${url}/chat/completions)`)
    return names ? { ...detail(errorLine!.trim()), verdict: 'handled' } : { ...detail(`the error does not name the URL and cause: ${firstError(run.output)}`), verdict: 'unclear' }
  }
}

async function tapeKeys(path: string): Promise<Set<string>> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  return new Set(text === undefined ? [] : (JSON.parse(text) as { entries: { key: string }[] }).entries.map((entry) => entry.key))
}

function firstError(output: string): string {
  return (output.split('\n').find((line) => /Error|FAIL|×/.test(line)) ?? output.slice(-300)).trim()
}
