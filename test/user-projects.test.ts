// What a new user meets in a project of their own: real Vitest runs of the built package, in temp projects.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelServer, type ModelServer, type ScriptedCall } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'
import { defaultSamples } from '../src/spec.js'

const apiKey = 'sk-user-projects-test-key-0123456789abcdef'

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

const spec = (name: string, query = 'Where is my order?') => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: ${name},
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: [{ input: { customer_query: ${JSON.stringify(query)} } }],
  judge: 'Polite.',
  threshold: 0.5,
})
`

function script(call: ScriptedCall): Record<string, unknown> {
  if (call.outputs.includes('score')) return { score: 0.9, reasons: 'Polite.' }
  return { polite_reply: 'Thank you for writing.' }
}

describe('projects of new users', () => {
  let server: ModelServer
  const projects: TempProject[] = []
  const project = async (files: Record<string, string>) => {
    const created = await createProject({ 'vitest.config.ts': config, ...files })
    projects.push(created)
    return created
  }
  const env = () => ({ env: { TEST_KEY: apiKey, LEARN_API_URL: server.url } })

  beforeAll(async () => {
    server = await startModelServer({ script })
  })
  afterAll(async () => {
    await server?.close()
    await Promise.all(projects.map((item) => item.remove()))
  })

  it('fails both spec files that share a name, naming both, and leaves the recordings of the first as they were', async () => {
    const user = await project({ 'support.learn.ts': spec("'support'") })
    const first = await user.vitest([], env())
    expect(first.code, first.output).toBe(0)
    const before = await Promise.all(['tape.json', 'traces.jsonl'].map((file) => user.read(`snapshots/support/${file}`)))
    const filesBefore = await user.files()

    // A copy with a case of its own: were it to run, its recording would be merged into support's tape.
    await user.write('copy.learn.ts', spec("'support'", 'Cancel my order.'))
    server.reset()
    const run = await user.vitest([], env())
    expect(run.code).toBe(1)
    expect(run.output).toContain('FAIL  support.learn.ts')
    expect(run.output).toContain('FAIL  copy.learn.ts')
    expect(run.output).toContain('support.learn.ts › name: the spec name "support" is used by support.learn.ts and copy.learn.ts')
    expect(run.output).toContain('copy.learn.ts › name: the spec name "support" is used by copy.learn.ts and support.learn.ts')
    expect(run.output).toMatch(/Tests\s+2 failed \(2\)/)
    expect(server.requests).toBe(0)
    expect(await Promise.all(['tape.json', 'traces.jsonl'].map((file) => user.read(`snapshots/support/${file}`)))).toEqual(before)
    expect((await user.files()).sort()).toEqual([...filesBefore, `${user.dir}/copy.learn.ts`].sort())
  })

  it('works in a CommonJS project (what `npm init -y` writes) with the README’s vitest.config.ts', async () => {
    const user = await project({ 'support.learn.ts': spec("'support'") })
    await user.write('package.json', JSON.stringify({ name: 'cjs-project', version: '1.0.0', type: 'commonjs' }))
    const record = await user.vitest([], env())
    expect(record.output).not.toContain('ESM only')
    expect(record.code, record.output).toBe(0)
    expect(record.output).toContain(`${2 * defaultSamples} recorded`)
    const replay = await user.vitest([], { ci: true })
    expect(replay.code, replay.output).toBe(0)
    expect(replay.output).toContain(`${2 * defaultSamples} replayed`)
  })

  it('rejects a misspelled plugin option in a CommonJS project, naming the one it meant', async () => {
    const user = await project({ 'support.learn.ts': spec("'support'") })
    await user.write('package.json', JSON.stringify({ name: 'cjs-project', version: '1.0.0', type: 'commonjs' }))
    await user.write('vitest.config.ts', config.replace('student:', 'studnet:'))
    const run = await user.vitest([], { ci: true })
    expect(run.code).toBe(1)
    expect(run.output).toContain('learn({ studnet }): unknown option "studnet"; did you mean "student"?')
  })

  it('redacts an API key pasted into a case input from the test names, on the console and in junit.xml', async () => {
    // The key starts inside the first 60 characters and would be cut by the shortened default name.
    const user = await project({ 'support.learn.ts': spec("'support'", `my key is ${apiKey}, why does it fail?`) })
    const run = await user.vitest(['--reporter=default', '--reporter=junit', '--outputFile.junit=junit.xml'], env())
    expect(run.code, run.output).toBe(0)
    const junit = await readFile(`${user.dir}/junit.xml`, 'utf8')
    expect(junit).toContain('{&quot;customer_query&quot;:&quot;my key is [redacted], why does it fail?&quot;}')
    for (const text of [run.output, junit]) expect(text).not.toContain(apiKey.slice(0, 12))
    // Its recording is still made, and keyed by the real input.
    expect(await user.read('snapshots/support/tape.json')).toContain('[redacted]')
  })
})
