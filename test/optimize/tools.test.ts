// An optimize run where the only fix is in a tool's description: the student passes an order number
// to the lookup tool as written ("#A-1042"), which the tool cannot find, unless the tool's
// description says to pass the digits only. The instruction cannot help: the student reads the
// argument format from the tool alone.
import { agent, ax, type AxFunction } from '@ax-llm/ax'
import { afterAll, describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src/optimize/checkpoint.js'
import { optimizeSpec } from '../../src/optimize/index.js'
import { defineLearn, type LearnMetricArgs } from '../../src/spec.js'
import { startModelServer, ToolCallReply, type ScriptedCall, type ScriptedReply } from '../support/model-server.js'
import { removeTempDirs, scriptedModels, tempDirs } from './support.js'

const statuses: Record<string, string> = { '1042': 'shipped', '2077': 'delayed', '3150': 'delivered', '4821': 'shipped', '5309': 'delayed' }
const numbers = Object.keys(statuses)
const digitsRule = 'Pass the order number as digits only, without "#" or letters.'
const digitsNamed = /digits only/i

const lookupOrder: AxFunction = {
  name: 'lookup_order',
  description: 'Looks up an order.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' } }, required: ['order_id'] },
  func: async ({ order_id }: { order_id: string }) => {
    const status = statuses[order_id]
    return status ? { order_id, status } : { error: `no order with id ${JSON.stringify(order_id)}` }
  },
}
const cancelOrder: AxFunction = {
  name: 'cancel_order',
  description: 'Cancels an order.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' } }, required: ['order_id'] },
  func: async () => ({ cancelled: true }),
}

/** How customers write order numbers: bare, or with the shop's "#A-" prefix. */
const question = (n: number) => (n % 3 === 0 ? `What is the status of order ${numbers[n % numbers.length]}?` : `Where is my order #A-${numbers[n % numbers.length]}?`)

/** The student as an agent's stages: the executor's code passes the order number as its prompt's tool description says; the responder answers from what it found. */
function agentStudent(call: ScriptedCall): ScriptedReply {
  if (call.system.includes('## Distiller')) return { javascriptCode: "final('Find the order status', { question: inputs.question })" }
  if (call.system.includes('## Executor')) {
    const described = /Looks up an order\.[^\n`]*/.exec(call.system)?.[0] ?? ''
    const orderId = digitsNamed.test(described) ? "written.replace(/\\D/g, '')" : 'written'
    return { javascriptCode: `const written = inputs.question.match(/#?[A-Z]*-?\\d+/)[0]; const order = await utils.lookup_order({ order_id: ${orderId} }); final('Report the status', { order })` }
  }
  const { evidence } = JSON.parse(call.inputs.contextData ?? '{}') as { evidence?: { order?: { order_id?: string; status?: string } } }
  return { answer: evidence?.order?.status ? `Order ${evidence.order.order_id} is ${evidence.order.status}.` : 'I could not find that order.' }
}

/** The student: passes the order number as written unless the lookup tool's description asks for digits only; answers from the result. */
function student(call: ScriptedCall): ScriptedReply {
  const lookup = call.tools.find((tool) => tool.name === 'lookup_order')
  if (call.toolResults.length === 0) {
    const written = /#?[A-Z]*-?\d+/.exec(call.inputs.question ?? '')?.[0] ?? ''
    const orderId = digitsNamed.test(lookup?.description ?? '') ? written.replace(/\D/g, '') : written
    return new ToolCallReply([{ name: 'lookup_order', arguments: { order_id: orderId } }])
  }
  const result = JSON.parse(call.toolResults[0]!.result) as { order_id?: string; status?: string }
  return { answer: result.status ? `Order ${result.order_id} is ${result.status}.` : 'I could not find that order.' }
}

/** The teacher: synthetic questions; an instruction proposal that changes nothing the student reads; a description proposal that fixes the argument format once the cases show it. */
function teacher(call: ScriptedCall, next: () => number): ScriptedReply {
  if (call.outputs.includes('examples')) return { examples: Array.from({ length: Number(call.inputs.count ?? 5) }, () => ({ question: question(next()) })) }
  if (call.outputs.includes('new_instruction')) return { new_instruction: `${call.inputs.current_instruction ?? ''} Look the order up before answering.` }
  if (call.outputs.includes('new_description')) {
    const current = call.inputs.current_description ?? ''
    return { new_description: call.user.includes('"order_id": "#A-') && !digitsNamed.test(current) ? `${current} ${digitsRule}` : current }
  }
  return {}
}

const programs = {
  'ax() with functions': () => ax('question:string -> answer:string', { functions: [lookupOrder, cancelOrder] }),
  'agent()': () => agent('question:string -> answer:string', { functions: [lookupOrder, cancelOrder], contextFields: [] }),
}
type Kind = keyof typeof programs

const spec = (kind: Kind) =>
  defineLearn({
    name: 'order-status-optimize',
    program: programs[kind](),
    instruction: "Answer the customer's question about their order.",
    cases: [0, 1, 2, 4, 5].map((n) => ({ input: { question: question(n + 30) } })),
    // Right tool, right arguments, and the status it returned.
    metric: ({ prediction, trajectory }: LearnMetricArgs<{ question: string }, { answer: string }>) => {
      const found = trajectory.toolCalls.find((call) => call.name === 'lookup_order' && typeof (call.result as { status?: string } | undefined)?.status === 'string')
      if (!found) return { score: 0, reason: 'The answer does not give the order status: the order was not found.' }
      return prediction.answer.includes((found.result as { status: string }).status) ? 1 : { score: 0, reason: 'The answer does not repeat the status found.' }
    },
    optimize: { budget: 6, synthCount: 12, generateExamples: true },
  })

afterAll(removeTempDirs)

describe.each(Object.keys(programs) as Kind[])('optimizing an %s program whose only fix is in a tool description', (kind) => {
  it('rewrites the lookup tool’s description to ask for digits only (every question answerable, not a third), and the checkpoint holds it', async () => {
    let synthesized = 0
    const studentOf = kind === 'agent()' ? agentStudent : student
    const server = await startModelServer({ script: (call) => (call.model === 'gpt-4o' ? teacher(call, () => synthesized++) : studentOf(call)) })
    try {
      const { snapshotDir, cacheDir } = await tempDirs()
      const result = await optimizeSpec({ spec: spec(kind), snapshotDir, cacheDir, models: scriptedModels(server.url), seed: 1 })
      expect(result.decision).toBe('written')
      expect(result.instruction.after).toBe(result.instruction.before)
      expect(result.components.map((component) => component.label)).toEqual(['tool lookup_order'])
      const checkpoint = (await readCheckpoint(snapshotDir))!
      const description = checkpoint.program.componentMap!['root::fn:lookup_order:desc']!
      expect(description).toContain(digitsRule)
      expect(checkpoint.program.componentMap!['root::fn:cancel_order:desc']).toBe('Cancels an order.')
      expect(result.after.mean).toBeGreaterThan(result.before.mean)
    } finally {
      await server.close()
    }
  })
})
