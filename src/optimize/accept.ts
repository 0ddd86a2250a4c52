import { LearnError } from '../errors.js'
import type { LearnCheckpoint } from '../formats/types.generated.js'
import type { CaseScore } from '../scoring.js'
import { mean } from '../stats.js'
import type { SomeLearnSpec } from '../spec.js'
import { committedProgram, latestVersion, writeCheckpoint } from './checkpoint.js'
import { specHashes } from './spec-hash.js'

export interface AcceptInput {
  spec: SomeLearnSpec
  specFile: string
  snapshotDir: string
  /** The checkpoint the run used; absent when it ran on the seed instruction. */
  current: LearnCheckpoint | undefined
  /** This run's scores; every case of the spec must be among them. */
  scores: readonly CaseScore[]
}

/**
 * `--accept`: a new checkpoint version with the same program, whose baseline is this run's scores
 * (each case the mean of its `samples` replies, as the regression check measures every run) and
 * whose hashes are the spec's as it is now.
 */
export async function acceptBaseline(input: AcceptInput): Promise<LearnCheckpoint> {
  const { spec, current } = input
  const byCase = new Map(input.scores.map((score) => [score.caseId, score.score]))
  const missing = spec.cases.filter((item) => !byCase.has(item.id))
  if (missing.length > 0)
    throw new LearnError(`cannot accept a baseline: ${missing.length} case(s) were not scored in this run (${missing.map((item) => item.id).join(', ')})`, {
      file: input.specFile,
      fix: `run every case of the spec: npx vitest-learn --accept ${input.specFile}`,
    })
  const scores = Object.fromEntries(spec.cases.map((item) => [item.id, byCase.get(item.id)!]))
  const version = (await latestVersion(input.snapshotDir, current)) + 1
  const checkpoint: LearnCheckpoint = {
    format: 1,
    name: spec.name,
    version,
    parent: current?.version ?? null,
    created: new Date().toISOString(),
    program: committedProgram({ ...current?.program, instruction: current?.program.instruction || spec.instruction }),
    baseline: { mean: mean(Object.values(scores)), scores, samples: spec.samples },
    hashes: specHashes(spec),
    optimizer: { type: 'accepted', stats: { acceptedFrom: current?.version ?? null } },
  }
  await writeCheckpoint(input.snapshotDir, checkpoint)
  return checkpoint
}
