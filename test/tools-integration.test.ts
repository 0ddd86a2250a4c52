// Agents with tools in real Vitest runs of a temporary project: each tool handler writes a line to a
// log file, so the test sees which handlers ran in which run.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelServer, ToolCallReply, type ModelServer, type ScriptedCall, type ScriptedReply } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: 'sk-tools-test', apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o') })] })
`

const toolLog = `import { appendFileSync } from 'node:fs'
export const logCall = (line) => appendFileSync(process.env.TOOL_LOG, line + '\\n')
`

/** An ax() program with a lookup tool and an action tool. */
const orders = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'
import { logCall } from './tool-log.js'

const statuses = { '1042': 'shipped', '2077': 'delayed' }
const lookupOrder = {
  name: 'lookup_order',
  description: 'Looks up an order by its number.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' } }, required: ['order_id'] },
  func: async ({ order_id }) => {
    logCall('lookup_order ' + order_id)
    return { order_id, status: statuses[order_id] ?? 'unknown' }
  },
}
const cancelOrder = {
  name: 'cancel_order',
  description: 'Cancels an order that has not shipped.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' } }, required: ['order_id'] },
  func: async ({ order_id }) => {
    logCall('cancel_order ' + order_id)
    return { order_id, cancelled: true }
  },
}

export default defineLearn({
  name: 'orders',
  samples: 1,
  program: ax('question:string -> answer:string', { functions: [lookupOrder, cancelOrder] }),
  instruction: 'Answer questions about orders; cancel an order when asked to.',
  cases: [
    { id: 'where-1042', input: { question: 'Where is order 1042?' } },
    { id: 'where-2077', input: { question: 'Where is order 2077?' } },
    { id: 'cancel-2077', input: { question: 'Please cancel order 2077.' } },
  ],
  metric: ({ trajectory }) => (trajectory.toolCalls.length === 1 ? 1 : 0),
})
`

/** An agent() that asks a live clock for today's date and passes it to a recorded tool. */
const recent = `import { agent } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'
import { logCall } from './tool-log.js'

const today = {
  name: 'today',
  description: "Today's date.",
  parameters: { type: 'object', properties: {} },
  func: async () => {
    logCall('today')
    return process.env.TODAY ?? '2026-12-01'
  },
}
const ordersSince = {
  name: 'orders_since',
  description: 'The orders placed since a date.',
  parameters: { type: 'object', properties: { date: { type: 'string', description: 'A date, YYYY-MM-DD' } }, required: ['date'] },
  func: async ({ date }) => {
    logCall('orders_since ' + date)
    return [{ order_id: '1042', placed: date }]
  },
}

export default defineLearn({
  name: 'recent-orders',
  samples: 1,
  program: agent('question:string -> answer:string', { functions: [today, ordersSince], contextFields: [] }),
  instruction: "List the customer's orders since today.",
  cases: [{ id: 'recent', input: { question: 'What did I order today?' } }],
  liveTools: ['today'],
  metric: ({ trajectory }) => (trajectory.toolCalls.map((call) => call.name).join() === 'today,orders_since' ? 1 : 0),
})
`

/** The student of both specs: the ax() program calls one tool, then answers; the agent's stages write code. */
function script(call: ScriptedCall): ScriptedReply {
  if (call.system.includes('## Distiller')) return { javascriptCode: 'final("List the orders placed since today", { question: inputs.question })' }
  if (call.system.includes('## Executor'))
    return { javascriptCode: 'const date = await utils.today(); const orders = await utils.orders_since({ date }); final("Report the orders", { orders })' }
  if (call.inputs.contextData) return { answer: `Your orders: ${call.inputs.contextData.replace(/\s+/g, ' ')}` }
  const question = call.inputs.question ?? ''
  if (call.toolResults.length === 0) {
    const orderId = /\d+/.exec(question)?.[0] ?? ''
    return new ToolCallReply([{ name: /cancel/i.test(question) ? 'cancel_order' : 'lookup_order', arguments: { order_id: orderId } }])
  }
  return { answer: `Done: ${call.toolResults[0]!.result.replace(/\s+/g, ' ')}` }
}

describe('a project whose specs call tools', () => {
  let server: ModelServer
  let project: TempProject
  const logPath = () => join(project.dir, 'tool-calls.log')
  /** The tool calls the handlers logged since the last look, sorted. */
  const handled = async () => {
    const text = await readFile(logPath(), 'utf8').catch(() => '')
    await rm(logPath(), { force: true })
    return text.split('\n').filter(Boolean).sort()
  }
  const env = (extra: Record<string, string> = {}) => ({ TOOL_LOG: logPath(), LEARN_API_URL: server.url, ...extra })

  beforeAll(async () => {
    server = await startModelServer({ script })
    project = await createProject({ 'vitest.config.ts': config, 'tool-log.js': toolLog, 'orders.learn.ts': orders, 'recent.learn.ts': recent })
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('runs each tool handler once per call when recording, and records the calls in the tape', async () => {
    const run = await project.vitest([], { env: env() })
    expect(run.code, run.output).toBe(0)
    expect(await handled()).toEqual(['cancel_order 2077', 'lookup_order 1042', 'lookup_order 2077', 'orders_since 2026-12-01', 'today'])
    const tape = JSON.parse(await project.read('snapshots/orders/tape.json')) as { format: number; entries: { tools?: { name: string }[] }[] }
    expect(tape.format).toBe(3)
    expect(tape.entries.flatMap((entry) => entry.tools ?? []).map((call) => call.name).sort()).toEqual(['cancel_order', 'lookup_order', 'lookup_order'])
  })

  it('replays under CI=true without running a recorded tool, while a live tool runs', async () => {
    server.reset()
    const run = await project.vitest([], { ci: true, env: env() })
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(0)
    expect(await handled()).toEqual(['today'])
  })

  it('fails a tool called with other arguments under CI=true as stale, naming the tool and the arguments', async () => {
    const run = await project.vitest([], { ci: true, env: env({ TODAY: '2026-12-02' }) })
    expect(run.code).toBe(1)
    expect(run.output).toContain('tool orders_since')
    expect(run.output).toContain('was called with other arguments than recorded (date: recorded "2026-12-01", now "2026-12-02")')
    expect(run.output).toContain('npx vitest run recent.learn.ts')
    expect(await handled()).toEqual(['today'])
  })
})
