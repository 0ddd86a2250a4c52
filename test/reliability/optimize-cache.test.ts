// Optimize's call cache keeps every answer as it arrives: a run killed between two writes of the
// cache file resumes without paying for them again; and the cases after optimize record what they
// miss through it, whatever optimize decided.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OptimizeCalls } from '../../src/optimize/calls.js'
import { scriptedModels, scriptedWorld, supportSpec } from '../optimize/support.js'
import { startModelServer, type ModelServer } from '../support/model-server.js'
import { createProject } from '../support/project.js'
import { configSource, liveEnv, optimizeSpecSource } from './support/fixtures.js'

describe("optimize's call cache", () => {
  let server: ModelServer
  let cacheDir: string
  const spec = supportSpec()

  beforeAll(async () => {
    server = await startModelServer({ script: () => ({ polite_reply: 'Dear customer, next step: reply here.' }) })
    cacheDir = await mkdtemp(join(tmpdir(), 'learn-optimize-cache-'))
  })
  afterAll(async () => {
    await server?.close()
    await rm(cacheDir, { recursive: true, force: true })
  })

  it('journals each answer, so a run killed before the cache is written does not pay for it again', async () => {
    const open = () => OptimizeCalls.open({ spec, models: scriptedModels(server.url), cacheDir, caps: {} })
    const program = ax('customer_query:string -> polite_reply:string')
    const killed = await open()
    await program.forward(killed.uncapped.student, { customer_query: 'Where is my order?' })
    await program.forward(killed.uncapped.student, { customer_query: 'The lamp is broken.' })
    expect(server.requests).toBe(2)
    // The run dies here: no flush, so <spec>.json was never written.
    await expect.poll(async () => readdir(cacheDir)).toEqual(['journal'])
    expect(await readdir(join(cacheDir, 'journal'))).toEqual([`optimize-${spec.name}.jsonl`])

    const resumed = await open()
    await program.forward(resumed.uncapped.student, { customer_query: 'Where is my order?' })
    await program.forward(resumed.uncapped.student, { customer_query: 'The lamp is broken.' })
    expect(server.requests).toBe(2)
    expect(resumed.cacheHits).toBe(2)
    await resumed.flush()
    expect((await readdir(cacheDir)).sort()).toEqual(['journal', `${spec.name}.json`])
    expect(await readdir(join(cacheDir, 'journal'))).toEqual([])
  })
})

it('records the cases after a kept checkpoint from the call cache, not the model', async () => {
  // The held-out set holds every case of the spec, scored on the current program: their answers are
  // in the cache, so recording the cases under that program costs nothing. (Before, only a written
  // checkpoint sent the cases through the cache: a run killed after optimize paid for them twice.)
  const world = scriptedWorld()
  world.setProposer('worse')
  const server = await startModelServer({ script: world.script })
  const project = await createProject({ 'vitest.config.ts': configSource(), 'support.learn.ts': optimizeSpecSource() })
  try {
    const run = await project.learn(['--optimize'], liveEnv(server.url))
    expect(run.output).toContain('support: kept the seed')
    const optimizeCalls = Number(/ (\d+) live calls · /.exec(run.output)?.[1])
    expect(server.requests).toBe(optimizeCalls)
    expect(run.output).toMatch(/Recordings {2}12 recorded/)
    const ci = await project.vitest([], { ci: true })
    expect(ci.output).toMatch(/Recordings {2}12 replayed\n/) // the seed misses the threshold: only the gate fails
  } finally {
    await server.close()
    await project.remove()
  }
})
