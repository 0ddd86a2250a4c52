import { hashOf } from '../hash.js'
import { judgeHash } from '../judge.js'
import type { SomeLearnSpec } from '../spec.js'

/**
 * Identifies what a checkpoint's baseline was measured against: the program's signature, the
 * cases, the judge rubric, the metrics' source and the threshold. The seed instruction, the
 * tolerance and the models are left out: a checkpoint replaces the first, and the others do not
 * change what a score means. A checkpoint whose `hashes.spec` differs was made for another spec.
 */
export function specHash(spec: SomeLearnSpec): string {
  return hashOf({
    signature: spec.program.getSignature().toString(),
    cases: spec.cases.map((item) => ({
      id: item.id,
      input: item.input,
      expected: item.expected ?? null,
      criteria: item.criteria ?? null,
      // Only when there is a conversation, so the hashes of specs without one stay what they were.
      ...(item.history ? { history: item.history } : {}),
    })),
    judge: spec.judge ?? null,
    metric: spec.metric ? spec.metric.toString() : null,
    // Only when there are named metrics, so the hashes of specs without them stay what they were.
    ...(spec.metrics ? { metrics: Object.fromEntries(Object.entries(spec.metrics).map(([name, scorer]) => [name, scorer.toString()])) } : {}),
    threshold: spec.threshold,
  })
}

/** A checkpoint's `hashes`: the spec's, and its judge's (rubric and prompt, trajectory or not). */
export function specHashes(spec: SomeLearnSpec): { spec: string; judge: string } {
  return { spec: specHash(spec), judge: judgeHash(spec.judge, spec.judgeTrajectory) }
}
