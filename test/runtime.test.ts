import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ai, ax, AxMockAIService, type AxChatRequest } from '@ax-llm/ax'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toPrettyJson } from '../src/formats/files.js'
import { AxLearn, AxMemoryStorage, createStorage, type AxCheckpoint, type AxStorage, type AxStorageItem, type AxStorageQuery, type AxTrace, type LearnStorage } from '../src/index.js'
import { startModelServer, type ModelServer } from './support/model-server.js'

const apiKey = 'sk-runtime-test-0123456789'

/** An in-memory store written the way the seed's docs show: a plain object with save and load. */
function plainStorage(): AxStorage & { items: Map<string, AxStorageItem[]> } {
  const items = new Map<string, AxStorageItem[]>()
  return {
    items,
    async save(name: string, item: AxStorageItem) {
      const list = items.get(name) ?? []
      const key = (entry: AxStorageItem) => (entry.type === 'trace' ? entry.id : `v${entry.version}`)
      items.set(name, [...list.filter((entry) => key(entry) !== key(item)), item])
    },
    async load(name: string, query: AxStorageQuery) {
      return (items.get(name) ?? [])
        .filter((item) => item.type === query.type)
        .filter((item) => query.id === undefined || (item.type === 'trace' && item.id === query.id))
        .sort((a, b) => (a.type === 'checkpoint' && b.type === 'checkpoint' ? b.version - a.version : 0))
        .slice(0, query.limit)
    },
  }
}

describe('AxLearn', () => {
  let server: ModelServer
  const model = () => ai({ name: 'openai', apiKey, apiURL: server.url, config: { model: 'gpt-4o-mini' } as never })

  beforeAll(async () => {
    server = await startModelServer({
      script: (call) => ({ answer: call.system.includes('Answer with digits only') ? '4' : 'four' }),
    })
  })
  afterAll(() => server.close())

  it('runs the seed’s quick start: forward logs a trace with real usage and model', async () => {
    const gen = ax('question:string -> answer:string')
    const learner = new AxLearn(gen, { name: 'math-bot', teacher: model(), storage: new AxMemoryStorage(), budget: 20 })
    const result = await learner.forward(model(), { question: 'What is 2+2?' })
    expect(result.answer).toBe('four')
    const [trace] = await learner.getTraces()
    expect(trace).toMatchObject({ type: 'trace', name: 'math-bot', input: { question: 'What is 2+2?' }, output: { answer: 'four' }, model: 'gpt-4o-mini' })
    expect(trace!.usage!.totalTokens).toBeGreaterThan(0)
    expect(trace!.usage!.totalTokens).toBe(trace!.usage!.promptTokens + trace!.usage!.completionTokens)
    expect(trace!.endTime.getTime() - trace!.startTime.getTime()).toBe(trace!.durationMs)
  })

  it('works with a plain-object storage, as in the seed’s in-memory example', async () => {
    const storage = plainStorage()
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'plain', storage })
    await learner.forward(model(), { question: 'What is 2+2?' })
    await learner.flush()
    expect(storage.items.get('plain')).toHaveLength(1)
  })

  it('applies the latest checkpoint before the first forward resolves, with no race', async () => {
    const storage = plainStorage()
    const checkpoint: AxCheckpoint = { type: 'checkpoint', name: 'digits', version: 2, createdAt: new Date(), instruction: 'Answer with digits only.' }
    await storage.save('digits', { ...checkpoint, version: 1, instruction: 'Answer in words.' })
    await storage.save('digits', checkpoint)
    const slow: AxStorage = { save: storage.save, load: async (name, query) => { await new Promise((resolve) => setTimeout(resolve, 50)); return storage.load(name, query) } }
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'digits', storage: slow })
    const result = await learner.forward(model(), { question: 'What is 2+2?' }) // issued before the load finishes
    expect(result.answer).toBe('4')
    expect(learner.getCheckpoint()?.version).toBe(2)
    const [trace] = await learner.getTraces()
    expect(trace!.metadata).toMatchObject({ checkpointVersion: 2 })
  })

  it('applies the checkpoint’s component map and model settings, the caller’s own settings first', async () => {
    const storage = plainStorage()
    await storage.save('components', {
      type: 'checkpoint',
      name: 'components',
      version: 1,
      createdAt: new Date(),
      instruction: 'Answer in words.',
      metadata: { componentMap: { 'root::instruction': 'Answer with digits only.' }, modelConfig: { temperature: 0.2, topP: 0.5 } },
    })
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'components', storage })
    server.reset()
    expect((await learner.forward(model(), { question: 'What is 2+2?' })).answer).toBe('4')
    await learner.forward(model(), { question: 'What is 2+2?' }, { modelConfig: { temperature: 0.9 } })
    const bodies = server.calls.map((call) => call.body)
    expect(bodies[0]).toMatchObject({ temperature: 0.2, top_p: 0.5 })
    expect(bodies[1]).toMatchObject({ temperature: 0.9, top_p: 0.5 })
  })

  it('saves a trace of a failed call and rethrows the error', async () => {
    const storage = new AxMemoryStorage()
    const failing = new AxMockAIService<string>({ shouldError: true, errorMessage: 'model is down' })
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'failing', storage })
    await expect(learner.forward(failing, { question: 'What is 2+2?' }, { maxRetries: 0 })).rejects.toThrow()
    const [trace] = await learner.getTraces()
    expect(trace!.error).toBeTruthy()
    expect(trace!.output).toEqual({})
  })

  it('never breaks or delays the caller when storage fails, and reports it once', async () => {
    const errors: unknown[] = []
    let saves = 0
    const broken: AxStorage = {
      save: async () => {
        saves++
        throw new Error('disk full')
      },
      load: async () => [],
    }
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'broken', storage: broken, onError: (error) => errors.push(error) })
    for (let index = 0; index < 3; index++) expect((await learner.forward(model(), { question: 'What is 2+2?' })).answer).toBe('four')
    await learner.flush()
    expect(saves).toBe(3)
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toContain('disk full')
  })

  it('returns before a slow store has saved the trace', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const saved: AxStorageItem[] = []
    const slow: AxStorage = { save: async (_name, item) => { await gate; saved.push(item) }, load: async () => [] }
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'slow', storage: slow })
    await learner.forward(model(), { question: 'What is 2+2?' })
    expect(saved).toHaveLength(0)
    release()
    await learner.flush()
    expect(saved).toHaveLength(1)
  })

  it('drops the oldest traces past maxPendingTraces and says so once', async () => {
    const errors: unknown[] = []
    const never: AxStorage = { save: () => new Promise(() => {}), load: async () => [] }
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'stalled', storage: never, maxPendingTraces: 2, onError: (error) => errors.push(error) })
    for (let index = 0; index < 5; index++) await learner.forward(model(), { question: `q${index}` })
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toContain('dropped')
  })

  it('updates the stored trace on feedback instead of duplicating it', async () => {
    const storage = new AxMemoryStorage()
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'feedback', storage })
    await learner.forward(model(), { question: 'What is 2+2?' })
    const [trace] = await learner.getTraces()
    await learner.addFeedback(trace!.id, { score: 0.2, comment: 'should be a digit' })
    await learner.addFeedback(trace!.id, { label: 'wrong-format' })
    const traces = await learner.getTraces()
    expect(traces).toHaveLength(1)
    expect(traces[0]!.feedback).toEqual({ score: 0.2, comment: 'should be a digit', label: 'wrong-format' })
    expect(await learner.getTraces({ hasFeedback: true })).toHaveLength(1)
    await expect(learner.addFeedback('no-such-trace', { score: 1 })).rejects.toThrow(/no trace with id no-such-trace/)
  })

  it('supports the seed’s way of giving feedback: set trace.feedback and save it again', async () => {
    const storage = new AxMemoryStorage()
    let logged: AxTrace | undefined
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'seed-way', storage, onTrace: (trace) => (logged = trace) })
    await learner.forward(model(), { question: 'What is 2+2?' })
    await learner.flush()
    logged!.feedback = { score: 1, label: 'good' }
    await storage.save('seed-way', logged!)
    const traces = await learner.getTraces()
    expect(traces).toHaveLength(1)
    expect(traces[0]!.feedback).toEqual({ score: 1, label: 'good' })
  })

  it('takes a storage URL, here a real SQLite file that a new agent reopens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'learn-runtime-'))
    const url = `sqlite:${join(dir, 'traces.db')}`
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'sqlite-agent', storage: url })
    await learner.forward(model(), { question: 'What is 2+2?' })
    await learner.flush()
    await (learner.getStorage() as LearnStorage).close()
    const reopened = new AxLearn(ax('question:string -> answer:string'), { name: 'sqlite-agent', storage: url })
    const traces = await reopened.getTraces()
    expect(traces.map((trace) => trace.output)).toEqual([{ answer: 'four' }])
    await (reopened.getStorage() as LearnStorage).close()
    await rm(dir, { recursive: true, force: true })
  })

  it('never writes the API key into a trace', async () => {
    const storage = new AxMemoryStorage()
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'secret', storage })
    await learner.forward(model(), { question: 'What is 2+2?' })
    expect(JSON.stringify(await learner.getTraces())).not.toContain(apiKey)
  })

  it('redacts the API key from the error of a provider that echoes it in its status line, in every store', async () => {
    const key = 'sk-proj-Zq81vTn3Wd5Lk0Pa7Hs2Xc9Bf4Ym6Ju1Re8Gt5Nv' // a realistic key, well above redact()'s 8-character floor
    const echo = http.createServer((request, response) => {
      response.writeHead(400, `Bad Request: unknown key ${request.headers.authorization}`, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${request.headers.authorization}` } }))
    })
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
    const dir = await mkdtemp(join(tmpdir(), 'learn-redact-'))
    try {
      const echoing = ai({ name: 'openai', apiKey: key, apiURL: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/v1`, config: { model: 'gpt-4o-mini' } as never })
      for (const url of [`file:${join(dir, 'store')}`, `sqlite:${join(dir, 'traces.db')}`]) {
        const storage = createStorage(url)
        let logged: AxTrace | undefined
        const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'echo', storage, onTrace: (trace) => (logged = trace) })
        await expect(learner.forward(echoing, { question: 'What is 2+2?' }, { maxRetries: 0 })).rejects.toThrow(key)
        const [trace] = await learner.getTraces()
        expect(trace!.error).toContain('[redacted]')
        expect(JSON.stringify([trace, logged])).not.toContain(key)
        await storage.close()
      }
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile())
      expect(files.length).toBeGreaterThan(1)
      for (const file of files) expect((await readFile(join(file.parentPath, file.name))).includes(key), file.name).toBe(false)
    } finally {
      echo.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('redacts the values given as secrets, for services whose keys it cannot see', async () => {
    const token = 'internal-gateway-token-4f9a2c'
    const failing = new AxMockAIService<string>({ shouldError: true, errorMessage: `gateway refused token ${token}` })
    const storage = new AxMemoryStorage()
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'gateway', storage, secrets: [token] })
    await expect(learner.forward(failing, { question: `my token is ${token}` }, { maxRetries: 0 })).rejects.toThrow()
    const [trace] = await learner.getTraces()
    expect(trace!.input).toEqual({ question: 'my token is [redacted]' })
    expect(JSON.stringify(trace)).not.toContain(token)
  })
})

describe('AxLearn with checkpoints: the snapshot folder the test suite commits', () => {
  let snapshots: string
  const checkpointFile = (version: number, instruction: string) =>
    toPrettyJson({ format: 1, name: 'support', version, parent: null, created: '2024-01-01T00:00:00.000Z', program: { instruction } })

  beforeAll(async () => {
    snapshots = await mkdtemp(join(tmpdir(), 'learn-committed-'))
    await mkdir(join(snapshots, 'support', 'checkpoints'), { recursive: true })
    await writeFile(join(snapshots, 'support', 'checkpoint.json'), checkpointFile(1, 'Committed instruction.'))
    await writeFile(join(snapshots, 'support', 'checkpoints', 'v2.json'), checkpointFile(2, 'Never made current.'))
  })
  afterAll(() => rm(snapshots, { recursive: true, force: true }))

  it('runs the committed checkpoint.json, not the latest checkpoint in its storage, and writes nothing there', async () => {
    const storage = new AxMemoryStorage()
    await storage.save('support', { type: 'checkpoint', name: 'support', version: 7, createdAt: new Date(), instruction: 'From storage.' })
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'support', storage, checkpoints: snapshots })
    await learner.ready()
    expect(learner.getCheckpoint()?.version).toBe(1)
    expect(learner.getInstruction()).toBe('Committed instruction.')
    expect((await readdir(join(snapshots, 'support'))).sort()).toEqual(['checkpoint.json', 'checkpoints'])
  })

  it("applies a committed tool description: the model is offered the tool as the checkpoint describes it", async () => {
    const lookup = { name: 'lookup_order', description: 'Looks up an order.', parameters: { type: 'object', properties: { order_id: { type: 'string', description: 'Order number' } } }, func: async () => ({}) }
    const program = { instruction: 'Answer.', componentMap: { 'root::instruction': 'Answer.', 'root::fn:lookup_order:desc': 'Pass the digits only.' } }
    await mkdir(join(snapshots, 'tools'), { recursive: true })
    await writeFile(join(snapshots, 'tools', 'checkpoint.json'), toPrettyJson({ format: 1, name: 'tools', version: 1, parent: null, created: '2024-01-01T00:00:00.000Z', program }))
    const requests: AxChatRequest<unknown>[] = []
    const model = new AxMockAIService<string>({
      features: { functions: true, streaming: false },
      chatResponse: async (req) => {
        requests.push(req as AxChatRequest<unknown>)
        return { results: [{ index: 0, content: 'Answer: fine', finishReason: 'stop' }] }
      },
    })
    const learner = new AxLearn(ax('question:string -> answer:string', { functions: [lookup] }), { name: 'tools', storage: 'memory:', checkpoints: snapshots })
    await learner.forward(model, { question: 'Where is #A-1042?' })
    expect(requests[0]!.functions?.[0]?.description).toBe('Pass the digits only.')
    expect(String(requests[0]!.chatPrompt[0]!.content)).toContain('Pass the digits only.')
  })

  it('runs the seed when the spec has no checkpoint yet, and says so when the folder is missing', async () => {
    const errors: unknown[] = []
    const none = new AxLearn(ax('question:string -> answer:string'), { name: 'unoptimized', storage: 'memory:', checkpoints: snapshots, onError: (error) => errors.push(error) })
    await none.ready()
    expect(none.getCheckpoint()).toBeUndefined()
    expect(errors).toEqual([])
    const missing = join(snapshots, 'no-such-folder')
    const typo = new AxLearn(ax('question:string -> answer:string'), { name: 'support', storage: 'memory:', checkpoints: missing, onError: (error) => errors.push(error) })
    await typo.ready()
    expect(typo.getCheckpoint()).toBeUndefined()
    expect(String(errors[0])).toContain(missing)
    expect(String(errors[0])).toContain('AxLearn options.checkpoints')
  })

  it('leaves optimize() to vitest-learn --optimize', async () => {
    const learner = new AxLearn(ax('question:string -> answer:string'), { name: 'support', storage: 'memory:', checkpoints: snapshots, teacher: new AxMockAIService() })
    await expect(learner.optimize()).rejects.toThrow(/only the test suite writes it[\s\S]*npx vitest-learn --optimize/)
  })
})
