// The `support-rules` world with a student sampled at a temperature, and a dial for its true
// quality: what the regression gate is measured on (bench/gate-trust.ts, test/gate-trust.test.ts).
//
// The spec runs the ceiling instruction, so the student tries to keep every house rule. On each
// reply it slips on each rule (greeting aside) with probability `slip`, drawn per request and per
// occurrence of that request, so asking again gives another reply, as a model sampled at a
// temperature does. The judge is support-rules' own (it scores by the rules and is off by 0.2 on 15%
// of its answers). `drop` lowers the student's true quality by exactly that much, by raising its
// slip rate: a model update, say, that nothing in the repository shows.
import { ax } from '@ax-llm/ax'
import { defineLearn } from '../../src/spec.js'
import { mean } from '../../src/stats.js'
import type { Script, ScriptedCall } from '../support/model-server.js'
import { fractionOf, STUDENT_MODEL } from './common.js'
import { CASES, CEILING_INSTRUCTION, createScript as supportScript, RUBRIC, RULES, SEED, studentReply, verdict, type Query, type Reply } from './support-rules.js'

/**
 * Slip rate per rule and reply. At 0.07 one reply per case makes the gate as noisy as the issue
 * measured it on its own noisy world: a true drop of 0.1 caught about half the time at 16 cases.
 */
export const BASE_SLIP = 0.07

const sentences = RULES.filter((rule) => rule.id !== 'greet')

/** The reply when the student keeps exactly the rules in `kept` (and slips on the rest). */
const replyKeeping = (query: string, kept: readonly string[]) =>
  studentReply(query, [SEED, ...sentences.filter((rule) => kept.includes(rule.id)).map((rule) => rule.sentence)].join(' '))

/** A case's expected true score at a slip rate: every combination of slips, weighed by its probability. */
function expectedScore(query: string, slip: number): number {
  const risky = sentences.filter((rule) => rule.applies(query)).map((rule) => rule.id)
  let total = 0
  for (let mask = 0; mask < 2 ** risky.length; mask++) {
    const kept = risky.filter((_, index) => mask & (1 << index))
    const probability = (1 - slip) ** kept.length * slip ** (risky.length - kept.length)
    total += probability * verdict(query, replyKeeping(query, kept)).score
  }
  return total
}

/** True quality over the spec's 16 cases at a slip rate. */
export const trueQuality = (slip: number): number => mean(CASES.map(({ customer_query }) => expectedScore(customer_query, slip)))

/** The slip rate whose true quality is `drop` below the base rate's (bisection; quality falls as slips rise). */
export function slipFor(drop: number): number {
  const target = trueQuality(BASE_SLIP) - drop
  let [low, high] = [BASE_SLIP, 1]
  if (trueQuality(high) > target) throw new Error(`a drop of ${drop} is more than this world can make`)
  for (let step = 0; step < 60; step++) {
    const middle = (low + high) / 2
    if (trueQuality(middle) > target) low = middle
    else high = middle
  }
  return (low + high) / 2
}

export interface NoisyWorldOptions {
  /** Seeds the student's slips and the judge's noise. */
  seed: number
  /** How far below the base the student's true quality is. Default 0. */
  drop?: number
}

/** The scripted model: the sampled student, and support-rules' judge (and teacher) for the rest. */
export function createScript(options: NoisyWorldOptions): Script {
  const slip = options.drop ? slipFor(options.drop) : BASE_SLIP
  const rest = supportScript({ seed: options.seed })
  const seen = new Map<string, number>()
  return (call: ScriptedCall) => {
    if (call.model !== STUDENT_MODEL || !call.outputs.includes('polite_reply')) return rest(call)
    const request = `${call.system}\n${call.user}`
    const occurrence = seen.get(request) ?? 0
    seen.set(request, occurrence + 1)
    const query = call.inputs.customer_query ?? ''
    const kept = sentences
      .filter((rule) => fractionOf(['sampled slip', options.seed, request, occurrence, rule.id]) >= slip)
      .map((rule) => rule.id)
    return { polite_reply: replyKeeping(query, kept) }
  }
}

export const NAME = 'noisy-support'
export const INSTRUCTION = CEILING_INSTRUCTION
export { RUBRIC }

/** The spec: the 16 support-rules cases, judged, gated on regression alone (threshold 0). */
export function spec(options: { samples: number; judgeSamples?: number; tolerance?: number }) {
  return defineLearn<Query, Reply>({
    name: NAME,
    program: ax('customer_query:string -> polite_reply:string'),
    instruction: INSTRUCTION,
    cases: CASES.map((input) => ({ input })),
    judge: RUBRIC,
    threshold: 0,
    tolerance: options.tolerance ?? 0.05,
    samples: options.samples,
    judgeSamples: options.judgeSamples ?? 1,
  })
}

/** The same spec as the source of a `*.learn.ts` file, for real Vitest runs in a temporary project. */
export function specSource(options: { samples: number; judgeSamples?: number; tolerance?: number }): string {
  return `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: ${JSON.stringify(NAME)},
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: ${JSON.stringify(INSTRUCTION)},
  cases: ${JSON.stringify(CASES.map((input) => ({ input })), null, 2)},
  judge: ${JSON.stringify(RUBRIC)},
  threshold: 0,
  tolerance: ${options.tolerance ?? 0.05},
  samples: ${options.samples},
  judgeSamples: ${options.judgeSamples ?? 1},
})
`
}
