// One trial of the regression gate on the noisy-support world, in process (the library's session, no
// Vitest): record the spec and accept its scores as the baseline, then re-record it once per true
// drop, each time against fresh noise, and read the regression check's verdict. No Vitest import:
// bench/gate-trust.ts runs it too.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acceptBaseline } from '../../src/optimize/accept.js'
import { SpecSession } from '../../src/session.js'
import type { RegressionResult } from '../../src/gate.js'
import type { ModelServer } from '../support/model-server.js'
import { worldModels } from './common.js'
import { createScript, spec as noisySpec } from './noisy-support.js'

export interface TrialOptions {
  server: ModelServer
  seed: number
  samples: number
  judgeSamples?: number
  /** True drops to re-record under, each against the same baseline. */
  drops: readonly number[]
}

export type TrialOutcome = Pick<RegressionResult, 'verdict' | 'detectableDrop'> & { drop: number; delta: number }

/** Noise seeds of a trial's runs: the baseline's, then one per drop, never shared between trials. */
export const runSeed = (seed: number, run: number) => seed * 100 + run

async function runAll(session: SpecSession): Promise<void> {
  await Promise.all(session.spec.cases.map((item) => session.runCase(item)))
}

export async function gateTrial(options: TrialOptions): Promise<TrialOutcome[]> {
  const { server } = options
  const spec = noisySpec({ samples: options.samples, judgeSamples: options.judgeSamples ?? 1 })
  const dir = await mkdtemp(join(tmpdir(), 'gate-trial-'))
  const open = () =>
    SpecSession.open({ spec, specFile: 'noisy-support.learn.ts', snapshotDir: dir, mode: 'all', models: worldModels(server.url), recordCommand: 'npx vitest run' })
  try {
    server.setScript(createScript({ seed: runSeed(options.seed, 0) }))
    const baseline = await open()
    await runAll(baseline)
    await baseline.close()
    await acceptBaseline({ spec, specFile: 'noisy-support.learn.ts', snapshotDir: dir, current: undefined, scores: baseline.scores() })
    const outcomes: TrialOutcome[] = []
    for (const [index, drop] of options.drops.entries()) {
      server.setScript(createScript({ seed: runSeed(options.seed, index + 1), drop }))
      const run = await open()
      await runAll(run)
      const { regression } = run.gate()
      outcomes.push({ drop, verdict: regression.verdict, delta: regression.comparison?.delta ?? 0, ...(regression.detectableDrop !== undefined ? { detectableDrop: regression.detectableDrop } : {}) })
    }
    return outcomes
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
