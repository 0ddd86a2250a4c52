// The regression check's verdicts on a few fixed seeds of the noisy-support world, in process: what
// bench/gate-trust.ts measures over many seeds of real Vitest runs (BENCHMARKS.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultSamples } from '../src/spec.js'
import { startModelServer, type ModelServer } from './support/model-server.js'
import { gateTrial } from './worlds/gate-trial.js'
import { BASE_SLIP, slipFor, trueQuality } from './worlds/noisy-support.js'

describe('the regression check on the noisy-support world', () => {
  let server: ModelServer
  beforeAll(async () => {
    server = await startModelServer({})
  })
  afterAll(() => server?.close())

  it('dials an exact true drop', () => {
    for (const drop of [0.1, 0.2]) expect(trueQuality(BASE_SLIP) - trueQuality(slipFor(drop))).toBeCloseTo(drop, 6)
  })

  it('with the default samples: passes the unchanged spec and catches a true drop of 0.2, on seeds 1 to 3', async () => {
    const verdicts = []
    for (const seed of [1, 2, 3]) {
      const outcomes = await gateTrial({ server, seed, samples: defaultSamples, drops: [0, 0.2] })
      verdicts.push(outcomes.map((outcome) => `${outcome.drop}: ${outcome.verdict}`))
    }
    expect(verdicts).toEqual(Array.from({ length: 3 }, () => ['0: pass', '0.2: regressed']))
  })
})
