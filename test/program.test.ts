import { agent, ax, AxMockAIService, type AxChatRequest, type AxFunction } from '@ax-llm/ax'
import { describe, expect, it } from 'vitest'
import { buildProgram, componentsOf, effectiveState, withComponent } from '../src/optimize/program.js'
import { rebuild, toolDescriptionKeys, toolsOf } from '../src/program/tools.js'
import { defineLearn } from '../src/spec.js'

const lookupOrder = (): AxFunction => ({
  name: 'lookupOrder',
  description: 'Looks up an order.',
  parameters: { type: 'object', properties: { id: { type: 'string', description: 'Order number' } }, required: ['id'] },
  func: async () => ({ status: 'shipped' }),
})

/** A model that asks for lookupOrder once, then answers; it keeps every request. */
function scripted() {
  const requests: AxChatRequest<unknown>[] = []
  const service = new AxMockAIService<string>({
    features: { functions: true, streaming: false },
    chatResponse: async (req) => {
      requests.push(req as AxChatRequest<unknown>)
      return requests.length % 2 === 1
        ? { results: [{ index: 0, functionCalls: [{ id: 'c1', type: 'function' as const, function: { name: 'lookupOrder', params: { id: '7' } } }], finishReason: 'stop' as const }] }
        : { results: [{ index: 0, content: 'Answer: shipped', finishReason: 'stop' as const }] }
    },
  })
  return { service, requests }
}

const genSpec = (functions = [lookupOrder()]) =>
  defineLearn({ name: 'orders', program: ax('question:string -> answer:string', { functions }), instruction: 'Answer.', cases: [{ input: { question: 'q' } }], metric: () => 1 })

describe('programs rebuilt with tools of their own (ax internals this relies on)', () => {
  it('names tool descriptions as ax does, so a checkpoint applies through applyOptimizedComponents', () => {
    const program = ax('question:string -> answer:string', { functions: [lookupOrder(), { ...lookupOrder(), name: 'lookup-order' }] })
    const axKeys = program.getOptimizableComponents().filter((component) => component.kind === 'fn-desc').map((component) => component.key)
    expect([...toolDescriptionKeys(program).values()]).toEqual(axKeys)
  })

  it('rebuilds an ax() program whose copy runs the mapped handlers and shows the mapped descriptions, leaving the original as it was', async () => {
    const original = lookupOrder()
    const program = ax('question:string -> answer:string', { functions: [original] })
    program.addAssert((values) => values.answer !== 'forbidden', 'never answer forbidden')
    let called = 0
    const copy = rebuild(program, (tool) => ({ ...tool, description: 'Mapped description.', func: async () => ({ status: `mapped ${++called}` }) }))
    const { service, requests } = scripted()
    expect(await copy.forward(service, { question: 'q' })).toEqual({ answer: 'shipped' })
    expect(called).toBe(1)
    expect(String(requests[0]!.chatPrompt[0]!.content)).toContain('Mapped description.')
    expect(requests[0]!.functions?.[0]?.description).toBe('Mapped description.')
    copy.applyOptimizedComponents({ 'root::fn:lookuporder:desc': 'Tuned.' })
    expect(toolsOf(copy)[0]!.description).toBe('Tuned.')
    expect(original.description).toBe('Looks up an order.')
    expect((copy as unknown as { asserts: unknown[] }).asserts).toHaveLength(1)
  })

  it('rebuilds an agent with its options and the mapped tools', () => {
    const program = agent('question:string -> answer:string', { functions: [lookupOrder()], contextFields: [], maxTurns: 3 })
    const copy = rebuild(program, (tool) => ({ ...tool, description: 'Agent tool.' }))
    expect(copy).not.toBe(program)
    expect(toolsOf(copy).map((tool) => tool.description)).toEqual(['Agent tool.'])
    expect(toolsOf(program).map((tool) => tool.description)).toEqual(['Looks up an order.'])
    expect((copy as unknown as { options: { maxTurns?: number } }).options.maxTurns).toBe(3)
  })
})

describe('program states with tool descriptions', () => {
  it('lists the instruction and each tool description as components', () => {
    expect(componentsOf(buildProgram(genSpec(), { instruction: 'Answer.' }))).toEqual([
      { key: 'root::instruction', kind: 'instruction', current: 'Answer.' },
      { key: 'root::fn:lookuporder:desc', kind: 'tool', tool: 'lookupOrder', current: 'Looks up an order.' },
    ])
  })

  it("lists an agent's stage instructions and its tools", () => {
    const spec = defineLearn({
      name: 'orders',
      program: agent('question:string -> answer:string', { functions: [lookupOrder()], contextFields: [] }),
      instruction: 'Find the order.',
      cases: [{ input: { question: 'q' } }],
      metric: () => 1,
    })
    const state = effectiveState(spec, { instruction: 'Find the order.' })
    expect(state.componentMap).toEqual({
      'root::instruction': 'Find the order.',
      'root.responder::instruction': 'Find the order.',
      'root::fn:lookuporder:desc': 'Looks up an order.',
    })
  })

  it('builds concurrent candidates with their own descriptions: one never changes another', async () => {
    const spec = genSpec()
    const tuned = withComponent(spec, { instruction: 'Answer.' }, 'root::fn:lookuporder:desc', 'Pass the digits only.')
    expect(tuned.instruction).toBe('Answer.')
    const [plain, better] = [buildProgram(spec, { instruction: 'Answer.' }), buildProgram(spec, tuned)]
    const runs = [scripted(), scripted()]
    await Promise.all([plain.forward(runs[0]!.service, { question: 'q' }), better.forward(runs[1]!.service, { question: 'q' })])
    expect(runs[0]!.requests[0]!.functions?.[0]?.description).toBe('Looks up an order.')
    expect(runs[1]!.requests[0]!.functions?.[0]?.description).toBe('Pass the digits only.')
    expect(toolsOf(spec.program)[0]!.description).toBe('Looks up an order.')
  })

  it('keeps the state of a program without tools as it was: its instruction alone', () => {
    const spec = defineLearn({ name: 'plain', program: ax('question:string -> answer:string'), instruction: 'Answer.', cases: [{ input: { question: 'q' } }], metric: () => 1 })
    expect(effectiveState(spec, { instruction: 'Answer briefly.' })).toEqual({ instruction: 'Answer briefly.', componentMap: { 'root::instruction': 'Answer briefly.' } })
  })
})
