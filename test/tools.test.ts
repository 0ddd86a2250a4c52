import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agent, ax, AxFunctionError, type AxFunction } from '@ax-llm/ax'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { LearnError } from '../src/errors.js'
import { readTapeFile } from '../src/formats/tape-file.js'
import { resolveModel } from '../src/models/index.js'
import { SpecSession, type CaseResult, type SessionOptions } from '../src/session.js'
import { TapeService } from '../src/tape/service.js'
import { Tape } from '../src/tape/tape.js'
import { defineLearn, type LearnMetricArgs, type LearnSpecInput, type LearnTrajectory, type SomeLearnSpec } from '../src/spec.js'
import type { TapeMode } from '../src/tape/tape.js'
import { startModelServer, ToolCallReply, type ModelServer, type ScriptedCall, type ScriptedReply } from './support/model-server.js'

const orders: Record<string, { status: string }> = { '1042': { status: 'shipped' }, '2077': { status: 'delayed' } }

/** Handlers that count their calls: what a test checks to tell a replayed tool from a live one. */
const handled = { lookup_order: [] as string[], today: 0 }
const lookupOrder: AxFunction = {
  name: 'lookup_order',
  description: 'Looks up an order by its number.',
  parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' } }, required: ['order_id'] },
  func: async ({ order_id }: { order_id: string }) => {
    handled.lookup_order.push(order_id)
    if (!/^\d+$/.test(order_id)) throw new AxFunctionError([{ field: 'order_id', message: 'digits only' }])
    return orders[order_id] ?? { status: 'unknown' }
  },
}
const today: AxFunction = {
  name: 'today',
  description: "Today's date.",
  func: async () => {
    handled.today++
    return '2026-12-02'
  },
}

/** The student: asks for the order it finds in the question, and for the date; then answers from the results. */
function script(call: ScriptedCall): ScriptedReply {
  if (call.outputs.includes('score')) return { score: 1, reasons: 'Fine.' }
  if (call.tools.length > 0 && call.toolResults.length === 0) {
    const id = /#?\w*\d+/.exec(call.inputs.question ?? '')?.[0] ?? ''
    return new ToolCallReply([
      { name: 'lookup_order', arguments: { order_id: id } },
      { name: 'today', arguments: {} },
    ])
  }
  return { answer: `Status: ${call.toolResults.map((result) => result.result.replace(/\s+/g, ' ')).join(' | ')}` }
}

let server: ModelServer
let dir: string
const trajectories: LearnTrajectory[] = []

beforeAll(async () => {
  server = await startModelServer({ script })
})
afterAll(async () => {
  await server.close()
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-learn-tools-'))
  handled.lookup_order = []
  handled.today = 0
  trajectories.length = 0
  server.reset()
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const student = () => ({ name: 'openai' as const, apiKey: 'sk-tools', apiURL: server.url, config: { model: 'gpt-4o-mini' } })

type Overrides = Pick<LearnSpecInput<{ question: string }, { answer: string }>, 'cases' | 'liveTools' | 'judge'>

function spec(overrides: Partial<Overrides> = {}) {
  return defineLearn({
    name: 'orders',
    samples: 1,
    program: ax('question:string -> answer:string', { functions: [lookupOrder, today] }),
    instruction: 'Answer with the order status.',
    cases: [
      { id: 'shipped', input: { question: 'Where is order 1042?' } },
      { id: 'delayed', input: { question: 'Where is order 2077?' } },
    ],
    metric: ({ trajectory }: LearnMetricArgs<{ question: string }, { answer: string }>) => {
      trajectories.push(trajectory)
      return 1
    },
    ...overrides,
  })
}

const tapePath = () => join(dir, 'orders', 'tape.json')

async function run(mode: TapeMode, learn: SomeLearnSpec = spec() as unknown as SomeLearnSpec, live?: SessionOptions['live']): Promise<{ results: CaseResult[]; errors: unknown[] }> {
  const session = await SpecSession.open({
    spec: learn,
    specFile: 'orders.learn.ts',
    snapshotDir: join(dir, 'orders'),
    mode,
    models: { student: student(), judge: student() },
    recordCommand: 'npx vitest run orders.learn.ts',
    ...(live ? { live } : {}),
  })
  const results: CaseResult[] = []
  const errors: unknown[] = []
  for (const item of learn.cases) await session.runCase(item).then((result) => results.push(result), (error: unknown) => errors.push(error))
  await session.close()
  return { results, errors }
}

/** tape.json as JSON, loosely: what the tests below edit by hand. */
interface TapeJson {
  format: number
  entries: { tools?: { name: string; arguments: Record<string, unknown> }[] }[]
}

async function editTape(edit: (tape: TapeJson) => void): Promise<void> {
  const tape = JSON.parse(await readFile(tapePath(), 'utf8')) as TapeJson
  edit(tape)
  await writeFile(tapePath(), JSON.stringify(tape, null, 2))
}

describe('tool calls of an ax() program with functions', () => {
  it('records each tool call beside the model call that asked for it, and replays it without running the handler', async () => {
    const recorded = await run('new')
    expect(recorded.errors).toEqual([])
    expect(handled.lookup_order).toEqual(['1042', '2077'])
    expect(handled.today).toBe(2)
    expect(recorded.results.map((result) => result.score.samples[0]!.prediction.answer)).toEqual([
      'Status: { "status": "shipped" } | 2026-12-02',
      'Status: { "status": "delayed" } | 2026-12-02',
    ])
    const tape = (await readTapeFile(tapePath(), 'fix'))!
    expect(tape.format).toBe(3)
    const asking = tape.entries.filter((entry) => entry.tools)
    expect(asking).toHaveLength(2)
    expect(asking.map((entry) => entry.tools)).toContainEqual([
      { name: 'lookup_order', arguments: { order_id: '1042' }, result: { status: 'shipped' } },
      { name: 'today', arguments: {}, result: '2026-12-02' },
    ])

    handled.lookup_order = []
    handled.today = 0
    server.reset()
    const replayed = await run('none')
    expect(replayed.errors).toEqual([])
    expect(server.requests).toBe(0)
    expect(handled).toEqual({ lookup_order: [], today: 0 })
    expect(replayed.results.map((result) => result.score.samples[0]!.prediction)).toEqual(recorded.results.map((result) => result.score.samples[0]!.prediction))
  })

  it('gives the metric the trajectory: each tool call with its arguments and result, and the model calls made', async () => {
    await run('new')
    expect(trajectories[0]).toEqual({
      toolCalls: [
        { name: 'lookup_order', arguments: { order_id: '1042' }, result: { status: 'shipped' } },
        { name: 'today', arguments: {}, result: '2026-12-02' },
      ],
      steps: 2,
    })
  })

  it('fails a tool call whose arguments differ from the recording under CI, naming the tool and the arguments', async () => {
    await run('new')
    await editTape((tape) => {
      const call = tape.entries.flatMap((entry) => entry.tools ?? []).find((candidate) => candidate.arguments.order_id === '1042')!
      call.arguments.order_id = '1043'
    })
    handled.lookup_order = []
    const { errors } = await run('none')
    expect(handled.lookup_order).toEqual([])
    expect(errors).toHaveLength(1)
    const error = errors[0] as LearnError
    expect(error).toBeInstanceOf(LearnError)
    expect(error.message).toContain('tool lookup_order, called after a student call of case shipped, was called with other arguments than recorded (order_id: recorded "1043", now "1042")')
    expect(error.fix).toContain('npx vitest run orders.learn.ts')
  })

  it('runs a tool again where its recording does not match, outside CI, and records it in place', async () => {
    await run('new')
    await editTape((tape) => {
      for (const entry of tape.entries) for (const call of entry.tools ?? []) if (call.name === 'lookup_order') call.arguments.order_id = '9'
    })
    handled.lookup_order = []
    const { errors } = await run('new')
    expect(errors).toEqual([])
    expect(handled.lookup_order).toEqual(['1042', '2077'])
    const tape = (await readTapeFile(tapePath(), 'fix'))!
    expect(tape.entries.flatMap((entry) => entry.tools ?? []).filter((call) => call.name === 'lookup_order').map((call) => call.arguments.order_id).sort()).toEqual(['1042', '2077'])
  })

  it('runs a live tool in every mode and never records it', async () => {
    const live = spec({ liveTools: ['today'] })
    await run('new', live)
    const tape = (await readTapeFile(tapePath(), 'fix'))!
    expect(tape.entries.flatMap((entry) => entry.tools ?? []).map((call) => call.name)).toEqual(['lookup_order', 'lookup_order'])
    handled.lookup_order = []
    handled.today = 0
    const { errors } = await run('none', live)
    expect(errors).toEqual([])
    expect(handled).toEqual({ lookup_order: [], today: 2 })
  })

  it('records a tool that rejects its arguments (AxFunctionError), and replays the rejection to the model', async () => {
    const learn = spec({ cases: [{ id: 'bad', input: { question: 'Where is order #A1042?' } }] })
    const recorded = await run('new', learn)
    expect(recorded.errors).toEqual([])
    expect(handled.lookup_order).toEqual(['#A1042'])
    const tape = (await readTapeFile(tapePath(), 'fix'))!
    expect(tape.entries.flatMap((entry) => entry.tools ?? [])[0]).toMatchObject({ name: 'lookup_order', error: { fields: [{ field: 'order_id', message: 'digits only' }] } })
    handled.lookup_order = []
    const replayed = await run('none', learn)
    expect(replayed.errors).toEqual([])
    expect(handled.lookup_order).toEqual([])
    expect(replayed.results[0]!.score.samples[0]!.prediction).toEqual(recorded.results[0]!.score.samples[0]!.prediction)
  })

  it('takes tool results from a tape behind the live model (optimize’s call cache) when re-recording, as it takes answers', async () => {
    const { service, identity } = resolveModel(student(), 'student')
    /** The call cache as an optimize run opens it; `finish` writes it for the next run. */
    const openCache = async () => {
      const cache = await Tape.load({ path: join(dir, 'cache.json'), spec: 'orders', mode: 'new', recordCommand: 'vitest-learn --optimize' })
      return { cache, cached: new TapeService(cache, service, identity, { caseId: 'optimize', role: 'student' }) }
    }
    const first = await openCache()
    expect((await run('all', undefined, { student: first.cached })).errors).toEqual([])
    await first.cache.finish(new Set())
    expect(handled.lookup_order).toEqual(['1042', '2077'])
    handled.lookup_order = []
    server.reset()
    expect((await run('all', undefined, { student: (await openCache()).cached })).errors).toEqual([])
    expect(server.calls.filter((call) => !call.outputs.includes('score'))).toEqual([])
    expect(handled.lookup_order).toEqual([])
    const tape = (await readTapeFile(tapePath(), 'fix'))!
    expect(tape.entries.flatMap((entry) => entry.tools ?? []).filter((call) => call.name === 'lookup_order')).toHaveLength(2)
  })

  it('fails a recording made before tool calls were recorded under CI, and adds the tool calls to it outside CI', async () => {
    await run('new')
    await editTape((tape) => {
      for (const entry of tape.entries) delete entry.tools
      tape.format = 2
    })
    const { errors } = await run('none')
    expect((errors[0] as LearnError).message).toContain('has no recorded result: the model call that asked for it was recorded without tool calls')
    handled.lookup_order = []
    expect((await run('new')).errors).toEqual([])
    expect(handled.lookup_order).toEqual(['1042', '2077'])
    expect((await readTapeFile(tapePath(), 'fix'))!.format).toBe(3)
    server.reset()
    expect((await run('none')).errors).toEqual([])
  })
})

describe('what the judge sees', () => {
  it('shows the judge the trajectory when the spec asks for it, and only then', async () => {
    await run('new', spec({ judge: { rubric: 'States the status the lookup returned.', trajectory: true } }))
    const judged = server.calls.filter((call) => call.outputs.includes('score'))
    expect(judged).toHaveLength(2)
    for (const call of judged) expect(call.inputs.trajectory).toContain('"name": "lookup_order"')
    server.reset()
    await rm(join(dir, 'orders'), { recursive: true })
    await run('new', spec({ judge: 'States the status the lookup returned.' }))
    expect(server.calls.filter((call) => call.outputs.includes('score')).map((call) => call.inputs.trajectory)).toEqual([undefined, undefined])
  })
})

describe('a conversation as a case', () => {
  const chat = () =>
    defineLearn({
      name: 'orders',
      samples: 1,
      program: ax('message:string -> reply:string'),
      instruction: 'Answer the customer.',
      cases: [
        {
          id: 'follow-up',
          history: [
            { role: 'user', input: { message: 'Hi, I am Ada. Order 1042 is late.' } },
            { role: 'assistant', output: { reply: 'Sorry, Ada. Let me check order 1042.' } },
          ],
          input: { message: 'Any news?' },
        },
      ],
      metric: () => 1,
    })

  it('sends the earlier turns as a live chat would, records the call with them, and replays it', async () => {
    server.setScript((call) => ({ reply: `Seen ${call.messages.filter((message) => message.role === 'user').length} user turns; the last said: ${call.user.trim()}` }))
    try {
      const recorded = await run('new', chat())
      expect(recorded.errors).toEqual([])
      expect(server.requests).toBe(1)
      expect(server.calls[0]!.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'system', 'user'])
      expect(server.calls[0]!.messages[2]!.content).toBe('reply: Sorry, Ada. Let me check order 1042.')
      expect(recorded.results[0]!.score.samples[0]!.prediction.reply).toBe('Seen 2 user turns; the last said: Message: Any news?')
      server.reset()
      const replayed = await run('none', chat())
      expect(replayed.errors).toEqual([])
      expect(replayed.results[0]!.score.samples[0]!.prediction).toEqual(recorded.results[0]!.score.samples[0]!.prediction)
    } finally {
      server.setScript(script)
    }
  })

  it('rejects turns that do not alternate from the user, naming the field', () => {
    expect(() =>
      defineLearn({
        name: 'orders',
        samples: 1,
        program: ax('message:string -> reply:string'),
        instruction: 'Answer.',
        cases: [{ input: { message: 'Hi' }, history: [{ role: 'assistant', output: { reply: 'Hello' } }, { role: 'user', input: { message: 'Hi' } }] }],
        metric: () => 1,
      }),
    ).toThrow(/cases\[0\]\.history\[0\]: must be \{ role: 'user', input: \{ \.\.\. \} \}/)
  })
})

describe('an agent() program', () => {
  /** The agent's stages, scripted: the distiller hands the question on, the executor looks the order up, the responder answers. */
  function agentScript(call: ScriptedCall): ScriptedReply {
    if (call.system.includes('## Distiller')) return { javascriptCode: 'final("Find the status of the order in the question", { question: inputs.question })' }
    if (call.system.includes('## Executor'))
      return { javascriptCode: 'const order = await utils.lookup_order({ order_id: inputs.question.match(/\\d+/)[0] }); final("Report the status", { order })' }
    if (call.outputs.includes('score')) return { score: 1, reasons: 'Fine.' }
    const context = JSON.parse(call.inputs.contextData ?? '{}') as { evidence?: { order?: { status?: string } } }
    return { answer: `The order is ${context.evidence?.order?.status ?? 'unknown'}.` }
  }
  const agentSpec = () =>
    defineLearn({
      name: 'orders',
      samples: 1,
      program: agent('question:string -> answer:string', { functions: [lookupOrder], contextFields: [] }),
      instruction: 'Find the order and say where it is.',
      cases: [{ id: 'shipped', input: { question: 'Where is order 1042?' } }],
      metric: ({ prediction, trajectory }) => {
        trajectories.push(trajectory)
        return prediction.answer === 'The order is shipped.' ? 1 : 0
      },
    })

  it('fails a stale tool call under CI even when the agent’s code catches its error and answers all the same', async () => {
    server.setScript((call) =>
      call.system.includes('## Executor')
        ? { javascriptCode: "try { await utils.lookup_order({ order_id: '1042' }) } catch (error) {} final('Say it is on its way', { note: 'checked' })" }
        : agentScript(call),
    )
    try {
      expect((await run('new', agentSpec())).errors).toEqual([])
      await editTape((tape) => {
        for (const call of tape.entries.flatMap((entry) => entry.tools ?? [])) call.arguments.order_id = '9999'
      })
      const { errors } = await run('none', agentSpec())
      expect((errors[0] as LearnError).message).toContain('tool lookup_order, called after a student call of case shipped, was called with other arguments than recorded (order_id: recorded "9999", now "1042")')
    } finally {
      server.setScript(script)
    }
  })

  it('records its tool calls with the model call whose code made them, and replays them without running the handler', async () => {
    server.setScript(agentScript)
    try {
      const recorded = await run('new', agentSpec())
      expect(recorded.errors).toEqual([])
      expect(recorded.results[0]!.score.samples[0]!.prediction.answer).toBe('The order is shipped.')
      expect(handled.lookup_order).toEqual(['1042'])
      expect(trajectories[0]!.toolCalls).toEqual([{ name: 'lookup_order', arguments: { order_id: '1042' }, result: { status: 'shipped' } }])
      const tape = (await readTapeFile(tapePath(), 'fix'))!
      const asking = tape.entries.filter((entry) => entry.tools)
      expect(asking).toHaveLength(1)
      expect(JSON.stringify(asking[0]!.response)).toContain('utils.lookup_order')
      handled.lookup_order = []
      server.reset()
      const replayed = await run('none', agentSpec())
      expect(replayed.errors).toEqual([])
      expect(server.requests).toBe(0)
      expect(handled.lookup_order).toEqual([])
      expect(replayed.results[0]!.score.samples[0]!.prediction).toEqual(recorded.results[0]!.score.samples[0]!.prediction)
    } finally {
      server.setScript(script)
    }
  })
})
