import { LearnError } from '../errors.js'
import type { AxStorage, AxTrace, AxTraceFeedback } from '../storage/types.js'
import type { SomeLearnSpec } from '../spec.js'
import { pickFields, programFields, type OptimizeCase } from './data.js'

export type FeedbackKind = 'positive' | 'negative' | 'none'

const positiveLabels = new Set(['good', 'positive', 'pass', 'correct', 'thumbs_up', 'thumbsup', 'up', '👍'])
const negativeLabels = new Set(['bad', 'negative', 'fail', 'incorrect', 'wrong', 'thumbs_down', 'thumbsdown', 'down', '👎'])

/** A known label decides; otherwise a score of 0.5 or more is positive and less is negative. */
export function feedbackKind(feedback: AxTraceFeedback | undefined): FeedbackKind {
  const label = feedback?.label?.trim().toLowerCase()
  if (label && positiveLabels.has(label)) return 'positive'
  if (label && negativeLabels.has(label)) return 'negative'
  const score = feedback?.score
  if (typeof score === 'number' && Number.isFinite(score)) return score >= 0.5 ? 'positive' : 'negative'
  return 'none'
}

export interface TraceCases {
  /** Cases in the order they should weigh: failures to fix, good answers, then recent traces. */
  cases: OptimizeCase[]
  /** Traces whose input does not fit the program's signature. */
  unusable: number
}

/**
 * Turns production traces into cases. A trace with positive feedback becomes a case whose output is
 * the judge's reference; one with negative feedback a failure to fix (its input, with the feedback
 * comment as extra criteria); one without feedback just an input.
 */
export function traceCases(spec: SomeLearnSpec, traces: readonly AxTrace[]): TraceCases {
  const fields = programFields(spec)
  const groups: Record<FeedbackKind, OptimizeCase[]> = { negative: [], positive: [], none: [] }
  let unusable = 0
  for (const trace of traces) {
    const input = pickFields(trace.input, fields.inputs, fields.requiredInputs)
    if (!input) {
      unusable++
      continue
    }
    const kind = feedbackKind(trace.feedback)
    const expected = kind === 'positive' && !trace.error ? pickFields(trace.output, fields.outputs) : undefined
    const comment = trace.feedback?.comment?.trim()
    groups[kind].push({
      id: `trace-${trace.id}`,
      name: `trace ${trace.id}`,
      index: -1,
      input,
      ...(expected && Object.keys(expected).length > 0 ? { expected } : {}),
      ...(comment ? { criteria: comment } : {}),
      source: 'trace',
    })
  }
  return { cases: [...groups.negative, ...groups.positive, ...groups.none], unusable }
}

/** Up to `limit` traces of the spec: those with feedback first, then the most recent others. */
export async function loadTraces(storage: AxStorage, name: string, limit: number): Promise<AxTrace[]> {
  const load = async (hasFeedback: boolean, count: number): Promise<AxTrace[]> => {
    if (count <= 0) return []
    try {
      const items = await storage.load(name, { type: 'trace', hasFeedback, limit: count })
      return items.filter((item): item is AxTrace => item.type === 'trace')
    } catch (error) {
      throw new LearnError(`could not load traces of "${name}" from the trace store: ${(error as Error).message}`, {
        field: 'traces.storage',
        fix: 'check the store configured in learn({ traces: { storage } }), or set optimize: { useTraces: false } in the spec',
      })
    }
  }
  const withFeedback = await load(true, limit)
  return [...withFeedback, ...(await load(false, limit - withFeedback.length))]
}
