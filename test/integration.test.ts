import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readTapeFile } from '../src/formats/tape-file.js'
import { startModelServer, type ModelServer, type ScriptedCall } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'
import { defaultSamples } from '../src/spec.js'

const apiKey = 'sk-integration-test-key-0123456789abcdef'

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model(process.env.STUDENT_MODEL ?? 'gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

const spec = (instruction: string, extraCase = '') => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: ${JSON.stringify(instruction)},
  cases: [
    { input: { customer_query: 'Where is my order?' } },
    { input: { customer_query: 'The lamp is broken.' }, criteria: 'apologizes' },${extraCase}
  ],
  judge: 'Polite and gives a next step.',
  threshold: 0.5,
})
`

const plainTest = `import { expect, test } from 'vitest'
test('plain user test', () => expect(1 + 1).toBe(2))
`

function script(call: ScriptedCall): Record<string, unknown> {
  if (call.outputs.includes('score')) return { score: 0.9, reasons: 'Polite; next step given.' }
  return { polite_reply: `Thank you for writing about "${call.inputs.customer_query}". You can reply to this email for help.` }
}

describe('a project using the plugin', () => {
  let server: ModelServer
  let project: TempProject
  const live = (args: string[] = []) =>
    project.vitest(args, { env: { TEST_KEY: apiKey, LEARN_API_URL: server.url } })
  const ci = (args: string[] = []) => project.vitest(args, { ci: true })
  const tape = () => project.read('snapshots/support/tape.json')

  beforeAll(async () => {
    server = await startModelServer({ script })
    project = await createProject({
      'vitest.config.ts': config,
      'support.learn.ts': spec('Reply politely.'),
      'math.test.ts': plainTest,
    })
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('records on the first run, with the user’s own tests still running', async () => {
    const run = await live()
    expect(run.code, run.output).toBe(0)
    const calls = 2 * defaultSamples * 2 // 2 cases x the default samples x (student + judge)
    expect(run.output).toContain(`${calls} recorded`)
    expect(server.requests).toBe(calls)
    expect(server.authorizationSeen).toBe(true)
    expect(run.output).toMatch(/math\.test\.ts/)
    // 2 cases, the threshold check, the plain test; the regression check has no baseline yet.
    expect(run.output).toMatch(/Tests\s+4 passed \| 1 skipped \(5\)/)
    const recorded = JSON.parse(await tape())
    expect(recorded.entries).toHaveLength(calls)
    expect(existsSync(`${project.dir}/snapshots/support/traces.jsonl`)).toBe(true)
  })

  it('replays on the second run without calling the model, leaving every snapshot file as it was', async () => {
    server.reset()
    const before = await tape()
    const traces = await project.read('snapshots/support/traces.jsonl')
    const run = await live()
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(0)
    expect(run.output).toContain(`${4 * defaultSamples} replayed`)
    // recorded usage, cost and time reported on replay
    const row = String.raw`support\s+2/2×${defaultSamples}\s+0\.900\s+0\.900\.\.0\.900\s+0\.5\s+-\s+-\s+pass\s+\d+\s+\$\d\.\d{4}\s+\d+\.\ds\s+${4 * defaultSamples}\s+0`
    expect(run.output).toMatch(new RegExp(row))
    expect(await tape()).toBe(before)
    expect(await project.read('snapshots/support/traces.jsonl')).toBe(traces)
  })

  it('replays under CI=true with no key and no server', async () => {
    const run = await ci()
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain(`${4 * defaultSamples} replayed`)
  })

  it('never writes the API key to disk', async () => {
    for (const file of await project.files()) expect(await readFile(file, 'utf8'), file).not.toContain(apiKey)
  })

  it('fails a changed prompt under CI=true as stale, with the command that fixes it, and keeps the tape', async () => {
    const before = await tape()
    await project.write('support.learn.ts', spec('Reply politely and briefly.'))
    const run = await ci()
    expect(run.code).toBe(1)
    expect(run.output).toContain('prompt changed')
    expect(run.output).toContain('Reply politely and briefly.')
    expect(run.output).toContain('npx vitest run support.learn.ts')
    expect(run.output).toMatch(/stale or missing/)
    expect(await tape()).toBe(before)
  })

  it('re-records everything with -u and drops the obsolete entries', async () => {
    server.reset()
    const run = await live(['-u'])
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(4 * defaultSamples)
    const { entries } = (await readTapeFile(`${project.dir}/snapshots/support/tape.json`, 'fix'))!
    expect(entries).toHaveLength(4 * defaultSamples)
    const systemPrompts = entries.map((entry) => String(entry.request.messages[0]!.content))
    for (const prompt of systemPrompts.filter((text) => text.includes('polite_reply'))) expect(prompt).toContain('Reply politely and briefly.')
    expect((await ci()).code).toBe(0)
  })

  it('fails a new case under CI=true and records it in the next local run', async () => {
    const withCase = spec('Reply politely and briefly.', "\n    { id: 'refund', input: { customer_query: 'I want a refund.' } },")
    await project.write('support.learn.ts', withCase)
    const stale = await ci()
    expect(stale.code).toBe(1)
    expect(stale.output).toContain('new case: nothing was recorded for it yet')
    server.reset()
    expect((await live()).code).toBe(0)
    expect(server.requests).toBe(2 * defaultSamples)
    expect((await ci()).code).toBe(0)
  })

  it('fails clearly under CI=true when the snapshot folder is deleted', async () => {
    await rm(`${project.dir}/snapshots/support`, { recursive: true })
    const run = await ci()
    expect(run.code).toBe(1)
    expect(run.output).toContain('no recording for a student call')
    expect(run.output).toContain('snapshots/support/tape.json')
    expect(existsSync(`${project.dir}/snapshots/support`)).toBe(false)
    expect((await live()).code).toBe(0)
  })

  it('runs one case from its line (file:line)', async () => {
    const source = await project.read('support.learn.ts')
    const line = source.split('\n').findIndex((text) => text.includes('The lamp is broken.')) + 1
    const run = await ci([`support.learn.ts:${line}`])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/Tests\s+1 passed/)
    expect(run.output).toContain(`${2 * defaultSamples} replayed`)
  })

  it('gives each case its line as its location, and plain tests none (task location stays off)', async () => {
    const run = await ci(['--reporter=json', '--outputFile=report.json'])
    expect(run.code, run.output).toBe(0)
    const report = JSON.parse(await project.read('report.json')) as {
      testResults: { name: string; assertionResults: { title: string; location?: { line: number } }[] }[]
    }
    await rm(`${project.dir}/report.json`)
    const locations = report.testResults.flatMap((file) => file.assertionResults.map((test) => [test.title, test.location?.line]))
    const source = (await project.read('support.learn.ts')).split('\n')
    const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1
    expect(locations).toEqual(
      expect.arrayContaining([
        [expect.stringContaining('Where is my order?'), lineOf('Where is my order?')],
        [expect.stringContaining('The lamp is broken.'), lineOf('The lamp is broken.')],
        [expect.stringMatching(/^threshold: mean score/), lineOf('export default')],
        ['plain user test', undefined],
      ]),
    )
  })

  it('reports a malformed spec in its own file, naming the field, while other specs still run', async () => {
    await project.write('bad.learn.ts', spec('Reply.').replace("name: 'support'", "name: 'bad'").replace('threshold: 0.5', 'threshold: 2'))
    const run = await ci()
    await rm(`${project.dir}/bad.learn.ts`)
    expect(run.code).toBe(1)
    expect(run.output).toContain('bad.learn.ts › threshold: must be a number from 0 to 1, got 2')
    expect(run.output).toMatch(/✓ support\.learn\.ts|support.*3 passed|support\.learn\.ts \(3 tests\)/)
  })

  it('fails the run when two spec files share a spec name', async () => {
    await project.write('copy.learn.ts', await project.read('support.learn.ts'))
    const run = await ci()
    await rm(`${project.dir}/copy.learn.ts`)
    expect(run.code).toBe(1)
    expect(run.output).toContain('the spec name "support" is used by')
    expect(run.output).toContain('copy.learn.ts')
  })

  it('reports a tape in a newer format with its path, the version and the fix, and leaves it untouched, even under -u', async () => {
    const original = await tape()
    await project.write('snapshots/support/tape.json', original.replace('"format": 2', '"format": 4'))
    const newer = await tape()
    for (const run of [await live(), await live(['-u'])]) {
      expect(run.code).toBe(1)
      expect(run.output).toContain('snapshots/support/tape.json › format: is tape format 4, written by a newer vitest-learn')
      expect(run.output).toContain('fix: upgrade vitest-learn (npm install -D vitest-learn@latest)')
    }
    expect(await tape()).toBe(newer)
    await project.write('snapshots/support/tape.json', original)
  })

  it('leaves a tape that cannot be read as it is under a filtered -u, says why and how to fix it; a whole -u replaces it', async () => {
    const original = await tape()
    const conflicted = `<<<<<<< HEAD\n${original}=======\n${original}>>>>>>> theirs\n`
    await project.write('snapshots/support/tape.json', conflicted)
    const source = await project.read('support.learn.ts')
    const line = source.split('\n').findIndex((text) => text.includes('The lamp is broken.')) + 1
    const filtered = await live([`support.learn.ts:${line}`, '-u'])
    expect(filtered.code, filtered.output).toBe(1)
    expect(filtered.output).toContain('snapshots/support/tape.json: is not valid JSON')
    expect(filtered.output).toContain('This -u run did not re-record every case of the spec, so it does not replace the file')
    expect(filtered.output).toContain('fix: re-record every case: npx vitest run support.learn.ts -u, with no test filter')
    expect(await tape()).toBe(conflicted)
    const whole = await live(['-u'])
    expect(whole.code, whole.output).toBe(0)
    expect((await readTapeFile(`${project.dir}/snapshots/support/tape.json`, ''))!.entries).toHaveLength(JSON.parse(original).entries.length)
  })

  it('reports snapshot folders no spec claims, and removes them with -u', async () => {
    await project.write('snapshots/retired-spec/tape.json', '{"format":1,"spec":"retired-spec","entries":[]}\n')
    const run = await ci()
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('obsolete snapshots/retired-spec/')
    expect(existsSync(`${project.dir}/snapshots/retired-spec`)).toBe(true)
    const update = await live(['-u'])
    expect(update.code, update.output).toBe(0)
    expect(update.output).toContain('removed obsolete snapshots/retired-spec/')
    expect(existsSync(`${project.dir}/snapshots/retired-spec`)).toBe(false)
    expect(existsSync(`${project.dir}/snapshots/support/tape.json`)).toBe(true)
  })
})
