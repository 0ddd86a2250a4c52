import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelServer, type ModelServer } from '../support/model-server.js'
import { createProject, type TempProject } from '../support/project.js'
import { deadPid } from './support/processes.js'

// A real Vitest run of the built plugin, in a project whose snapshots/ also holds what a test run
// did not write: an AxLearn files-store folder (as `file:./snapshots` used to make) and the
// temporary files of writers that were killed.

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: 'sk-plugin-folders-test-0123456789', apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

const spec = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: [{ input: { customer_query: 'Where is my order?' } }],
  judge: 'Polite.',
  threshold: 0.5,
})
`

const traceLine = `${JSON.stringify({
  type: 'trace',
  id: 'production-1',
  name: 'agent-x',
  input: { customer_query: 'hi' },
  output: { polite_reply: 'hello' },
  startTime: '2024-01-01T00:00:00.000Z',
  endTime: '2024-01-01T00:00:01.000Z',
  durationMs: 1000,
})}\n`

describe('a test run in a snapshots/ folder it shares with what it did not write', () => {
  let server: ModelServer
  let project: TempProject
  let dead: number

  beforeAll(async () => {
    server = await startModelServer({
      script: (call) => (call.outputs.includes('score') ? { score: 1, reasons: 'Polite.' } : { polite_reply: 'Gladly: it ships today.' }),
    })
    dead = await deadPid()
    project = await createProject({
      'vitest.config.ts': config,
      'support.learn.ts': spec,
      'snapshots/retired/tape.json': '{"format":1,"spec":"retired","entries":[]}\n',
      'snapshots/agent-x/traces.jsonl': traceLine,
      [`snapshots/support/tape.json.${dead}.0123abcd.tmp`]: '{"format":1,',
      [`snapshots/support/checkpoints/v2.json.${dead}.89abcdef.tmp`]: '{',
      [`snapshots/support/tape.json.${process.pid}.cafef00d.tmp`]: 'a live writer’s',
    })
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('-u keeps an obsolete spec folder while the run has failures, and says why', async () => {
    server.failNext(100, 401)
    const run = await project.vitest(['-u'], { env: { LEARN_API_URL: server.url } })
    expect(run.code).not.toBe(0)
    expect(run.output).toContain('kept obsolete snapshots/retired/ (no spec is named "retired"): this run has failures')
    expect(existsSync(`${project.dir}/snapshots/retired/tape.json`)).toBe(true)
    server.reset()
  })

  it('-u removes only the obsolete spec folder, keeps the store’s folder, and clears dead writers’ temporary files', async () => {
    const run = await project.vitest(['-u'], { env: { LEARN_API_URL: server.url } })
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('removed obsolete snapshots/retired/')
    expect(existsSync(`${project.dir}/snapshots/retired`)).toBe(false)
    expect(run.output).toMatch(/left alone in snapshots\/, not written by a test run \(no tape\.json\): agent-x/)
    expect(await project.read('snapshots/agent-x/traces.jsonl')).toBe(traceLine)
    expect((await readdir(`${project.dir}/snapshots/support`)).sort()).toEqual(
      ['checkpoints', 'history.jsonl', 'tape.json', `tape.json.${process.pid}.cafef00d.tmp`, 'traces.jsonl'].sort(),
    )
    expect(await readdir(`${project.dir}/snapshots/support/checkpoints`)).toEqual([])
  })
})
