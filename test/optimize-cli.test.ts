import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readTapeFile } from '../src/formats/tape-file.js'
import { AxSQLiteStorage, type AxTrace } from '../src/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelServer, type ModelServer } from './support/model-server.js'
import { SEED_INSTRUCTION, scriptedWorld, type World } from './optimize/support.js'
import { createProject, type TempProject } from './support/project.js'
import { defaultSamples } from '../src/spec.js'

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({
  plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o'), traces: { storage: 'sqlite:./traces.db' }, optimize: { concurrency: 4 } })],
})
`

const spec = (extraCase = '') => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: ${JSON.stringify(SEED_INSTRUCTION)},
  cases: [
    { input: { customer_query: 'Where is my order #12345?' } },
    { input: { customer_query: 'The lamp arrived broken.' } },
    { input: { customer_query: 'Can I get my money back for a late delivery?' } },
    { input: { customer_query: 'How do I change my shipping address?' } },
    { input: { customer_query: 'My parcel is late again.' } },
    { input: { customer_query: 'I was charged twice, refund me.' } },${extraCase}
  ],
  judge: 'Greets with "Dear customer"; gives one concrete next step; never mentions refunds; signs off as the support team; at most 200 characters.',
  threshold: 0.5,
  optimize: { budget: 12, synthCount: 10 },
})
`

describe('vitest-learn --optimize', () => {
  let server: ModelServer
  let world: World
  let project: TempProject
  const live = { env: { TEST_KEY: 'sk-optimize-cli-test-key', LEARN_API_URL: '' } }
  const checkpoint = async () => JSON.parse(await project.read('snapshots/support/checkpoint.json'))

  beforeAll(async () => {
    world = scriptedWorld()
    server = await startModelServer({ script: (call) => world.script(call) })
    live.env.LEARN_API_URL = server.url
    project = await createProject({ 'vitest.config.ts': config, 'support.learn.ts': spec() })
    // Production traces of the agent, as AxLearn would have logged them: one with bad feedback.
    const store = new AxSQLiteStorage({ path: join(project.dir, 'traces.db') })
    const trace = (id: string, query: string, feedback?: AxTrace['feedback']): AxTrace => ({
      type: 'trace', id, name: 'support', input: { customer_query: query }, output: { polite_reply: 'We will refund you.' },
      startTime: new Date(), endTime: new Date(), durationMs: 1, ...(feedback ? { feedback } : {}),
    })
    await store.save('support', trace('t1', 'Where is my refund for order 991?', { score: 0, comment: 'promised a refund' }))
    await store.save('support', trace('t2', 'My order 992 is late.'))
    await store.save('support', trace('t3', 'The box for order 993 was damaged.'))
    await store.close()
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('raises the held-out score, writes v1 with its baseline, and records the cases under it', async () => {
    await project.write('other.learn.ts', spec().replace("name: 'support'", "name: 'other'"))
    const run = await project.learn(['--optimize', 'support.learn.ts'], live) // a filter after the flag selects specs
    await rm(`${project.dir}/other.learn.ts`)
    expect(run.code, run.output).toBe(0)
    expect(run.output).not.toContain('[optimize other]')
    expect(server.requests).toBeGreaterThan(0)
    expect(run.output).toMatch(/support: wrote v1 {2}0\.\d{3} → (0\.\d{3}|1\.000) \(\+0\.\d{3}, 95% CI \+/)
    expect(run.output).toContain('[optimize support]')
    // The baseline is v1 measured afresh on the spec's 6 cases with its samples, student and judge.
    expect(run.output).toMatch(new RegExp(`\\d+ live calls \\(${6 * defaultSamples * 2} measuring v1's baseline\\) · `))
    const written = await checkpoint()
    expect(written).toMatchObject({ version: 1, parent: null, name: 'support' })
    expect(written.program.instruction).not.toBe(SEED_INSTRUCTION)
    expect(written.program.instruction).toContain(SEED_INSTRUCTION)
    expect(Object.keys(written.baseline.scores)).toHaveLength(6)
    expect(written.baseline.samples).toBe(defaultSamples)
    expect(written.baseline.mean).toBeGreaterThan(0.5)
    expect(written.hashes.spec).toMatch(/^[0-9a-f]+$/)
    expect(existsSync(`${project.dir}/snapshots/support/checkpoints/v1.json`)).toBe(true)
    expect(written.optimizer.stats.traces).toBe(3) // read from traces.storage
    const tape = (await readTapeFile(`${project.dir}/snapshots/support/tape.json`, 'fix'))!
    const studentPrompts = tape.entries.filter((entry) => entry.role === 'student')
    expect(studentPrompts).toHaveLength(6 * defaultSamples)
    for (const entry of studentPrompts) expect(entry.request.messages[0]!.content).toContain(written.program.instruction)
  })

  it('replays under CI=true right away, with no model call', async () => {
    server.reset()
    const run = await project.vitest([], { ci: true })
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(0)
  })

  it('keeps v1 and passes when nothing better is found, leaving every file as it was', async () => {
    world.setProposer('worse')
    const snapshot = async () => Promise.all(['checkpoint.json', 'tape.json', 'traces.jsonl', 'synthetic.json'].map((file) => project.read(`snapshots/support/${file}`)))
    const files = await snapshot()
    const before = await project.read('snapshots/support/checkpoint.json')
    const run = await project.learn(['--optimize', '--no-cache'], live)
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/support: kept v1 {2}\d\.\d{3} → \d\.\d{3}/)
    expect(run.output).toMatch(/\d+\/12 rounds, \d+ proposals, 0 kept/)
    expect(await snapshot()).toEqual(files)
    expect(await project.read('snapshots/support/checkpoint.json')).toBe(before)
    expect(existsSync(`${project.dir}/snapshots/support/checkpoints/v2.json`)).toBe(false)
    server.reset()
    expect((await project.vitest([], { ci: true })).code).toBe(0)
    expect(server.requests).toBe(0)
  })

  it('refuses to optimize under CI, saying how to run it', async () => {
    const run = await project.learn(['--optimize'], { ci: true })
    expect(run.code).toBe(1)
    expect(run.output).toContain('optimize calls models and writes checkpoints, but CI is set')
    expect(run.output).toContain('npx vitest-learn --optimize support.learn.ts')
  })

  it('fails a spec edited after its checkpoint until --accept writes a new baseline', async () => {
    await project.write('support.learn.ts', spec("\n    { id: 'address', input: { customer_query: 'Please update my address.' } },"))
    expect((await project.vitest([], { env: live.env })).code).toBe(1) // records the new case; the gate reports the edit
    const stale = await project.vitest([], { ci: true })
    expect(stale.code).toBe(1)
    expect(stale.output).toContain('edited after checkpoint v1')
    expect(stale.output).toContain('npx vitest-learn --accept support.learn.ts')
    const accept = await project.learn(['run', '--accept'], live)
    expect(accept.code, accept.output).toBe(0)
    expect(accept.output).toContain('checkpoint v2')
    const accepted = await checkpoint()
    expect(accepted).toMatchObject({ version: 2, parent: 1 })
    expect(Object.keys(accepted.baseline.scores)).toHaveLength(7)
    expect((await project.vitest([], { ci: true })).code).toBe(0)
  })
})
