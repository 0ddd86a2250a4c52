import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshBaseline } from '../src/fresh-baseline.js'
import { OptimizeCalls } from '../src/optimize/calls.js'
import { Evaluator } from '../src/optimize/evaluate.js'
import { startModelServer, type ModelServer } from './support/model-server.js'
import { worldModels } from './worlds/common.js'
import { createScript, INSTRUCTION, spec as noisySpec } from './worlds/noisy-support.js'

describe('freshBaseline', () => {
  let server: ModelServer
  let cacheDir: string
  beforeAll(async () => {
    server = await startModelServer({ script: createScript({ seed: 7 }) })
    cacheDir = await mkdtemp(join(tmpdir(), 'fresh-baseline-'))
  })
  afterAll(async () => {
    await server?.close()
    await rm(cacheDir, { recursive: true, force: true })
  })

  it('evaluates the accepted program afresh, through the decision’s call cache: new draws, samples replies per case', async () => {
    const spec = noisySpec({ samples: 3 })
    const calls = await OptimizeCalls.open({ spec, models: worldModels(server.url), cacheDir, caps: {} })
    const { student, judge } = calls.uncapped
    const program = { instruction: INSTRUCTION }
    // The decision: one draw per case, memoized.
    const decision = await new Evaluator({ spec, student, judge }).evaluateAll(program, spec.cases)
    expect(server.requests).toBe(32)
    const baseline = await freshBaseline({ spec, program, student, judge })
    // 16 cases × 3 replies × (reply + verdict), every one asked anew, none served from the cache.
    expect(server.requests).toBe(32 + 96)
    expect(calls.cacheHits).toBe(0)
    expect(baseline.samples).toBe(3)
    expect(Object.keys(baseline.scores).sort()).toEqual(spec.cases.map((item) => item.id).sort())
    expect(baseline.mean).toBeCloseTo(Object.values(baseline.scores).reduce((sum, value) => sum + value, 0) / 16, 10)
    // Three fresh replies per case average out differently from the decision's single draw.
    expect(spec.cases.some((item) => baseline.scores[item.id] !== decision.find((evaluation) => evaluation.caseId === item.id)!.score)).toBe(true)
  })
})
