// Two runs at once on one project: each holds the spec's folder while it may write it, so the
// second waits for the first and nothing either recorded is lost. The first run's answers are held
// back by the scripted server until the second says it waits: the runs overlap on any machine.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startModelServer, type ModelServer } from '../support/model-server.js'
import { createProject, type RunningProcess, type TempProject } from '../support/project.js'
import { checkFiles } from './support/check-files.js'
import { configSource, liveEnv, recordQueries, recordScript, recordSpecSource } from './support/fixtures.js'

const waitingLine = 'waiting for snapshots/support/: another vitest-learn run'

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 60_000) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('two runs at once on one spec', () => {
  let server: ModelServer
  let project: TempProject
  let release: () => void = () => {}
  let held: Promise<void> | undefined
  const env = () => liveEnv(server.url)
  const casesOnTape = async () => [...new Set((JSON.parse(await project.read('snapshots/support/tape.json')).entries as { case: string }[]).map((entry) => entry.case))].sort()

  /** Starts `first`, holds its model answers until `second` waits for the folder, then lets both finish. */
  async function overlap(first: string[], second: string[]) {
    held = new Promise((resolve) => (release = resolve))
    const a: RunningProcess = project.start(first, env())
    await until(() => server.requests > 0, "the first run's first model call")
    const b = project.start(second, env())
    await until(() => b.output.includes(waitingLine), 'the second run to wait for the folder')
    held = undefined
    release()
    return Promise.all([a.result, b.result])
  }

  beforeAll(async () => {
    server = await startModelServer({
      script: async (call) => {
        await held
        return recordScript(call)
      },
    })
    // Held answers must not time out and be asked again.
    project = await createProject({ 'vitest.config.ts': configSource({ attemptTimeoutMs: 60_000 }), 'support.learn.ts': recordSpecSource() })
    const recorded = await project.vitest([], env())
    expect(recorded.code, recorded.output).toBe(0)
  })
  afterAll(async () => {
    release()
    await server?.close()
    await project?.remove()
  })
  beforeEach(() => server.reset())

  it('keeps the new cases each run recorded, where the last writer used to drop the other one', async () => {
    await project.write('support.learn.ts', recordSpecSource('support', [...recordQueries, 'Question 9: a new one?', 'Question 10: another new one?']))
    const [a, b] = await overlap(['-t', 'Question 9'], ['-t', 'Question 10'])
    expect(a.code, a.output).toBe(0)
    expect(b.code, b.output).toBe(0)
    expect(await casesOnTape()).toEqual(['q1', 'q10', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9'])
    const ci = await project.vitest([], { ci: true })
    expect(ci.code, ci.output).toBe(0)
  })

  it('runs two -u runs one after the other: both pass, each re-records every call, no file is torn', async () => {
    const [a, b] = await overlap(['-u'], ['-u'])
    expect(a.code, a.output).toBe(0)
    expect(b.code, b.output).toBe(0)
    expect(server.requests).toBe(2 * 2 * 10) // 10 cases, a student and a judge call each, per run
    const files = await checkFiles(project.dir)
    expect(files.invalid).toEqual([])
    expect(files.debris).toEqual([])
    const ci = await project.vitest([], { ci: true })
    expect(ci.code, ci.output).toBe(0)
  })
})
