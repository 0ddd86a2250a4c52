// Two runs at once on one project. The first run's model answers are held back by the scripted
// server until the second run says it waits for the spec's folder, so the runs overlap on any
// machine; then both finish. Plain code, free of Vitest.
import { cp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { startModelServer, type ModelServer, type Script } from '../../support/model-server.js'
import { createProject, type RunResult, type TempProject } from '../../support/project.js'
import { checkFiles } from './check-files.js'
import { configSource, liveEnv, optimizeScript, optimizeSpecSource, recordQueries, recordScript, recordSpecSource } from './fixtures.js'

export const waitingLine = 'waiting for snapshots/support/: another vitest-learn run'

export interface ConcurrentOutcome {
  scenario: string
  verdict: 'handled' | 'lost' | 'wrong'
  detail: string
  first: RunResult
  second: RunResult
  /** Model requests of both runs. */
  requests: number
  /** Cases recorded on the tape afterwards. */
  cases: string[]
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 120_000) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export class ConcurrentLab {
  private server!: ModelServer
  private project!: TempProject
  private script: Script = recordScript
  private held: Promise<void> | undefined
  private release: () => void = () => {}

  async start(): Promise<void> {
    this.server = await startModelServer({
      script: async (call) => {
        await this.held
        return this.script(call)
      },
    })
    // Held answers must not time out and be asked again.
    this.project = await createProject({ 'vitest.config.ts': configSource({ attemptTimeoutMs: 120_000 }), 'support.learn.ts': recordSpecSource() })
    const recorded = await this.project.vitest([], liveEnv(this.server.url))
    if (recorded.code !== 0) throw new Error(`the first recording failed:\n${recorded.output}`)
    await cp(join(this.project.dir, 'snapshots'), join(this.project.dir, 'recorded'), { recursive: true })
  }

  async close(): Promise<void> {
    this.release()
    await this.server?.close()
    await this.project?.remove()
  }

  /** Back to the recorded 8-case spec, its tape, and no cache. */
  private async reset(spec: string, script: Script): Promise<void> {
    await rm(join(this.project.dir, 'snapshots'), { recursive: true, force: true })
    await rm(join(this.project.dir, 'node_modules/.cache'), { recursive: true, force: true })
    await cp(join(this.project.dir, 'recorded'), join(this.project.dir, 'snapshots'), { recursive: true })
    await this.project.write('support.learn.ts', spec)
    this.script = script
    this.server.reset()
  }

  /** Starts `first`, holds its answers until `second` waits for the folder, then lets both finish. */
  private async overlap(first: string[], second: string[], bin: 'vitest' | 'learn'): Promise<[RunResult, RunResult]> {
    const env = { ...liveEnv(this.server.url), bin }
    this.held = new Promise((resolve) => (this.release = resolve))
    const a = this.project.start(first, env)
    await until(() => this.server.requests > 0, "the first run's first model call")
    const b = this.project.start(second, env)
    await until(() => b.output.includes(waitingLine), 'the second run to wait for the folder')
    this.held = undefined
    this.release()
    return Promise.all([a.result, b.result])
  }

  private async outcome(scenario: string, first: RunResult, second: RunResult, checks: (cases: string[]) => string | undefined): Promise<ConcurrentOutcome> {
    const requests = this.server.requests
    const tape = JSON.parse(await readFile(join(this.project.dir, 'snapshots/support/tape.json'), 'utf8')) as { entries: { case: string }[] }
    const cases = [...new Set(tape.entries.map((entry) => entry.case))].sort()
    const files = await checkFiles(this.project.dir)
    const ci = await this.project.vitest([], { ci: true })
    const base = { scenario, first, second, requests, cases }
    if (files.invalid.length > 0 || files.debris.length > 0) return { ...base, verdict: 'lost', detail: [...files.invalid, ...files.debris].join('; ') }
    if (ci.code !== 0) return { ...base, verdict: 'lost', detail: `CI fails afterwards: ${ci.output.slice(-400)}` }
    const problem = checks(cases)
    return problem ? { ...base, verdict: 'wrong', detail: problem } : { ...base, verdict: 'handled', detail: 'the second run waited; both finished; every file valid; CI replays' }
  }

  /** Each run records a new case of its own (two `-t` filters): both recordings must be kept. */
  async newCases(): Promise<ConcurrentOutcome> {
    await this.reset(recordSpecSource('support', [...recordQueries, 'Question 9: a new one?', 'Question 10: another new one?']), recordScript)
    const [a, b] = await this.overlap(['-t', 'Question 9'], ['-t', 'Question 10'], 'vitest')
    return this.outcome('two runs recording new cases', a, b, (cases) =>
      a.code !== 0 || b.code !== 0 ? 'a run failed' : cases.includes('q9') && cases.includes('q10') ? undefined : `the tape lacks ${['q9', 'q10'].filter((id) => !cases.includes(id)).join(' and ')}`,
    )
  }

  /** Two `-u` runs: the second re-records after the first. */
  async twoUpdates(): Promise<ConcurrentOutcome> {
    await this.reset(recordSpecSource(), recordScript)
    const [a, b] = await this.overlap(['-u'], ['-u'], 'vitest')
    return this.outcome('two -u runs', a, b, () => (a.code !== 0 || b.code !== 0 ? 'a run failed' : undefined))
  }

  /** Two `--optimize` runs: the second optimizes from what the first wrote, never over it. */
  async twoOptimizes(): Promise<ConcurrentOutcome> {
    await this.reset(optimizeSpecSource(), optimizeScript())
    await rm(join(this.project.dir, 'snapshots/support'), { recursive: true, force: true })
    const [a, b] = await this.overlap(['--optimize'], ['--optimize'], 'learn')
    const current = JSON.parse(await readFile(join(this.project.dir, 'snapshots/support/checkpoint.json'), 'utf8')) as { version: number; parent: number | null }
    return this.outcome('two optimize runs', a, b, () => {
      if (a.code !== 0) return 'the first optimize run failed'
      const second = /support: (wrote v\d+|kept v1)/.exec(b.output)?.[1]
      if (!second) return `the second optimize run neither kept v1 nor wrote v2: ${b.output.slice(-400)}`
      const expected = second === 'kept v1' ? { version: 1, parent: null } : { version: 2, parent: 1 }
      return current.version === expected.version && current.parent === expected.parent ? undefined : `checkpoint.json is v${current.version} (parent ${current.parent}) after "${second}"`
    })
  }
}
