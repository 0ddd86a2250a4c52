import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ai, ax } from '@ax-llm/ax'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AxLearn, AxMemoryStorage, type AxCheckpoint } from '../src/index.js'
import { RULES, SEED_INSTRUCTION, scriptedWorld, supportSpec } from './optimize/support.js'
import { startModelServer, type ModelServer } from './support/model-server.js'

describe('AxLearn#optimize()', () => {
  let server: ModelServer
  let cacheDir: string
  const model = (name: string) => ai({ name: 'openai', apiKey: 'sk-agent-optimize-test', apiURL: server.url, config: { model: name } as never })
  const rubric = supportSpec().judge!

  beforeAll(async () => {
    const world = scriptedWorld()
    server = await startModelServer({ script: (call) => world.script(call) })
    cacheDir = await mkdtemp(join(tmpdir(), 'learn-agent-cache-'))
  })
  afterAll(async () => {
    await server.close()
    await rm(cacheDir, { recursive: true, force: true })
  })

  it('runs the seed’s quick start: forward in production, then optimize() saves and applies a better checkpoint', async () => {
    const gen = ax('customer_query:string -> polite_reply:string')
    gen.setInstruction(SEED_INSTRUCTION)
    const storage = new AxMemoryStorage()
    const examples = supportSpec().cases.map((item) => item.input)
    const learner = new AxLearn(gen, { name: 'support-bot', teacher: model('gpt-4o'), storage, budget: 12, synthCount: 10, judge: rubric, examples, cacheDir })

    await learner.forward(model('gpt-4o-mini'), { customer_query: 'Where is my order #12345?' })
    const [trace] = await learner.getTraces()
    await learner.addFeedback(trace!.id, { score: 0, comment: 'no next step' })

    const result = await learner.optimize()
    expect(result).toMatchObject({ written: true, checkpointVersion: 1 })
    expect(result.improvement).toBeGreaterThan(0)
    expect(result.score).toBeGreaterThan(0.5)
    expect(result.stats.trainingExamples).toBeGreaterThan(0)
    expect(result.comparison).toMatch(/→/)

    const [saved] = (await storage.load('support-bot', { type: 'checkpoint' })) as AxCheckpoint[]
    expect(saved!.version).toBe(1)
    expect(saved!.instruction).toContain(RULES[0].instruction)
    expect(Object.keys((saved!.metadata?.baseline as { scores: object }).scores)).toHaveLength(6) // the agent's examples
    expect(learner.getInstruction()).toBe(saved!.instruction)

    const restarted = new AxLearn(ax('customer_query:string -> polite_reply:string'), { name: 'support-bot', storage })
    await restarted.ready()
    expect(restarted.getInstruction()).toBe(saved!.instruction)
    const reply = await restarted.forward(model('gpt-4o-mini'), { customer_query: 'My parcel is late.' })
    expect(reply.polite_reply).toMatch(/next step/i)
  })

  it('says what is missing: a teacher, a student, a seed instruction', async () => {
    const storage = new AxMemoryStorage()
    const noTeacher = new AxLearn(ax('customer_query:string -> polite_reply:string'), { name: 'a', storage })
    await expect(noTeacher.optimize()).rejects.toThrow(/needs a teacher/)
    const noStudent = new AxLearn(ax('customer_query:string -> polite_reply:string'), { name: 'b', storage, teacher: model('gpt-4o') })
    await expect(noStudent.optimize()).rejects.toThrow(/call forward\(\) once, or pass studentAI/)
    const noSeed = new AxLearn(ax('customer_query:string -> polite_reply:string'), { name: 'c', storage, teacher: model('gpt-4o'), studentAI: model('gpt-4o-mini') })
    await expect(noSeed.optimize()).rejects.toThrow(/needs a seed instruction/)
  })
})
