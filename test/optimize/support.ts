// A small scripted world for optimize tests: a student that follows whatever rules its instruction
// states, a judge that docks points for rules the seed instruction misses, and a teacher that writes
// synthetic inputs and proposes instructions. (The harder worlds of the benchmark are in test/worlds/.)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ax } from '@ax-llm/ax'
import { defineLearn, type LearnSpec } from '../../src/spec.js'
import type { LearnModels } from '../../src/session.js'
import type { AxStorage, AxStorageItem, AxStorageQuery, AxTrace } from '../../src/storage/types.js'
import { defaultScript, instructionOf, jsonInput, type Script, type ScriptedCall } from '../support/model-server.js'

export const SEED_INSTRUCTION = 'Reply politely to the customer.'
export const WORSE_INSTRUCTION = 'Reply to the customer and always promise a full refund.'

/** The rules the judge checks and the seed instruction misses; the student follows those its instruction states. */
export const RULES = [
  { instruction: 'End every reply with one concrete next step.', missing: 'Missing a concrete next step.' },
  { instruction: 'Never mention refunds.', missing: 'Mentions a refund, which the rubric forbids.' },
  { instruction: 'Start with "Dear customer,".', missing: 'Does not greet the customer.' },
  { instruction: 'Sign off as the support team.', missing: 'Has no sign-off.' },
] as const

/** Follows the rules its instruction states; mentions refunds for money questions unless told not to. */
function student(call: ScriptedCall): Record<string, string> {
  const query = call.inputs.customer_query ?? ''
  const rules = instructionOf(call)
  const follows = (index: number) => rules.includes(RULES[index]!.instruction)
  const parts = [`${follows(2) ? 'Dear customer, thanks' : 'Thanks'} for writing about "${query}".`]
  if (/money|refund|late|broken/i.test(query) && !follows(1)) parts.push('We will refund you in full.')
  if (follows(0)) parts.push('Next step: reply with your order number.')
  if (follows(3)) parts.push('The support team')
  return { polite_reply: parts.join(' ') }
}

/** The four rules, plus at most 200 characters (long questions, echoed, can never pass it). */
function judge(call: ScriptedCall): Record<string, string | number> {
  const prediction = jsonInput(call.inputs.prediction) as Record<string, unknown> | undefined
  const text = String(prediction?.polite_reply ?? '')
  const checks: [boolean, string][] = [
    [/next step/i.test(text), RULES[0].missing],
    [!/refund/i.test(text), RULES[1].missing],
    [/^dear customer/i.test(text), RULES[2].missing],
    [/support team/i.test(text), RULES[3].missing],
    [text.length <= 200, 'Too long.'],
  ]
  const failed = checks.filter(([ok]) => !ok).map(([, reason]) => reason)
  return {
    score: Number(((checks.length - failed.length) / checks.length).toFixed(2)),
    reasons: failed.length === 0 ? 'Meets every requirement.' : failed.join(' '),
  }
}

export type ProposerMode = 'improve' | 'worse'

/**
 * The teacher asked for a better instruction (`current_instruction -> new_instruction`): `improve`
 * adds the rules whose failure the prompt shows, `rulesPerProposal` at a time; `worse` promises refunds.
 */
function proposer(call: ScriptedCall, mode: ProposerMode, rulesPerProposal: number): Record<string, string> {
  const current = call.inputs.current_instruction ?? ''
  if (mode === 'worse') return { new_instruction: WORSE_INSTRUCTION }
  const added = RULES.filter((rule) => call.user.includes(rule.missing) && !current.includes(rule.instruction))
    .slice(0, rulesPerProposal)
    .map((rule) => rule.instruction)
  return { new_instruction: [current, ...added].join(' ') }
}

/** The teacher writing synthetic inputs: money questions, every third one long; `next` numbers them. */
function synthInputs(call: ScriptedCall, next: () => number): Record<string, unknown> {
  const count = Number(call.inputs.count ?? 5)
  const examples = Array.from({ length: count }, () => {
    const n = next()
    const long = n % 3 === 0 ? ' I have written three times already, waited on the phone for an hour, and nobody could tell me where the parcel is.' : ''
    return { customer_query: `My order #${1000 + n} is late and I want my money back.${long}` }
  })
  return { examples }
}

/** A good answer, as the teacher labels synthetic inputs. */
function label(call: ScriptedCall): Record<string, string> {
  return { polite_reply: `Dear customer, sorry about "${(call.inputs.customer_query ?? '').slice(0, 40)}". Next step: track it on the Orders page. The support team` }
}

export interface World {
  script: Script
  setProposer(mode: ProposerMode): void
}

/** `rulesPerProposal`: how many missing rules the proposer adds at once (all by default). */
export function scriptedWorld(options: { rulesPerProposal?: number } = {}): World {
  let mode: ProposerMode = 'improve'
  let synthesized = 0
  const rulesPerProposal = options.rulesPerProposal ?? RULES.length
  return {
    setProposer(next) {
      mode = next
    },
    script(call) {
      const outputs = call.outputs
      if (outputs.includes('score') && outputs.includes('reasons')) return judge(call)
      if (outputs.includes('new_instruction')) return proposer(call, mode, rulesPerProposal)
      if (outputs.includes('examples')) return synthInputs(call, () => ++synthesized)
      if (outputs.includes('polite_reply')) return call.model === 'gpt-4o' ? label(call) : student(call)
      return defaultScript(call)
    },
  }
}

export type SupportSpec = LearnSpec<{ customer_query: string }, { polite_reply: string }>

export function supportSpec(overrides: { budget?: number; synthCount?: number; generateExamples?: boolean } = {}) {
  return defineLearn({
    name: 'support-optimize',
    program: ax('customer_query:string -> polite_reply:string'),
    instruction: SEED_INSTRUCTION,
    cases: [
      { input: { customer_query: 'Where is my order #12345?' } },
      { input: { customer_query: 'The lamp arrived broken.' }, criteria: 'apologizes and gives a next step' },
      { input: { customer_query: 'Can I get my money back for a late delivery?' } },
      { input: { customer_query: 'How do I change my shipping address?' } },
      { input: { customer_query: 'My parcel is late again.' } },
      { input: { customer_query: 'I was charged twice, refund me.' } },
    ],
    judge: 'Greets with "Dear customer"; gives one concrete next step; never mentions refunds; signs off as the support team; at most 200 characters.',
    optimize: { budget: overrides.budget ?? 12, synthCount: overrides.synthCount ?? 10, generateExamples: overrides.generateExamples ?? true },
  })
}

export function scriptedModels(url: string): LearnModels {
  const model = (name: string) => ({ name: 'openai' as const, apiKey: 'scripted-model-key', apiURL: url, config: { model: name } })
  return { student: model('gpt-4o-mini'), teacher: model('gpt-4o') }
}

const roots: string[] = []

/** A fresh snapshot folder and cache folder; removeTempDirs() deletes every one made so far. */
export async function tempDirs(): Promise<{ snapshotDir: string; cacheDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'vitest-learn-optimize-'))
  roots.push(root)
  return { snapshotDir: join(root, 'snapshots', 'support-optimize'), cacheDir: join(root, 'cache') }
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })))
}

/** A minimal AxStorage over an array: newest first, hasFeedback and limit honoured. */
export function arrayStorage(traces: AxTrace[]): AxStorage & { queries: AxStorageQuery[] } {
  const queries: AxStorageQuery[] = []
  return {
    queries,
    async save() {},
    async load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
      queries.push(query)
      if (query.type !== 'trace') return []
      return traces
        .filter((trace) => trace.name === name)
        .filter((trace) => query.hasFeedback === undefined || (trace.feedback !== undefined) === query.hasFeedback)
        .sort((a, b) => b.startTime.getTime() - a.startTime.getTime())
        .slice(0, query.limit)
    },
  }
}
