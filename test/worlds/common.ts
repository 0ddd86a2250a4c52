// What the scripted worlds share: the models they expect, deterministic fractions, and the teacher:
// a proposer that fixes one thing per call, a feedback summarizer, a merger and an input generator.
// No Vitest import: bench/optimize-quality.ts uses the worlds too.
import type { AxGenOut } from '@ax-llm/ax'
import { hashOf } from '../../src/hash.js'
import type { LearnModels } from '../../src/models/index.js'
import type { LearnSpec } from '../../src/spec.js'
import { jsonInput, type Script, type ScriptedCall, type ScriptedReply } from '../support/model-server.js'

/** The worlds tell the student from the teacher (and judge) by model name. */
export const STUDENT_MODEL = 'gpt-4o-mini'
export const TEACHER_MODEL = 'gpt-4o'

/** The student, teacher and judge as ai() arguments for the openai provider pointed at a model server. */
export function worldModels(url: string): LearnModels {
  const model = (name: string) => ({ name: 'openai' as const, apiKey: 'scripted-model-key', apiURL: url, config: { model: name } })
  return { student: model(STUDENT_MODEL), teacher: model(TEACHER_MODEL) }
}

/** A fraction in [0, 1), the same for the same value on every run. */
export const fractionOf = (value: unknown): number => Number.parseInt(hashOf(value, 8), 16) / 2 ** 32

/** Everything a call's messages hold, as one text: what a model reads. */
export const promptText = (call: ScriptedCall): string => call.messages.map((message) => message.content).join('\n')

/** A hidden rule of a world. */
export interface Rule {
  id: string
  /** What the proposer adds to an instruction once the rule's violation is evidenced. */
  sentence: string
  /** Whether an instruction names the rule; tolerant of paraphrase. */
  named: RegExp
}

/** The rules an instruction names. */
export const namedRules = (rules: readonly Rule[], instruction: string): Set<string> =>
  new Set(rules.filter((rule) => rule.named.test(instruction)).map((rule) => rule.id))

/** The teacher's view of a world: its rules in the order it fixes them, and what counts as evidence of each. */
export interface Teaching {
  rules: readonly Rule[]
  /** The rules whose violation `text` evidences (feedback wording, or a failing input with its right answer). */
  evidenced(text: string): Rule[]
}

const rewording = ' Keep it clear.'

/** The same instruction in other words: changes the prompt, not what the student does. */
export const reword = (instruction: string): string =>
  instruction.endsWith(rewording) ? instruction.slice(0, -rewording.length) : `${instruction}${rewording}`

/**
 * The proposer: the current instruction plus the first rule (in the world's order) that `text`
 * evidences and the instruction does not name yet; without such evidence, a harmless rewording.
 */
export function propose(teaching: Teaching, current: string, text: string): string {
  const named = namedRules(teaching.rules, current)
  const evidenced = new Set(teaching.evidenced(text).map((rule) => rule.id))
  const rule = teaching.rules.find((candidate) => evidenced.has(candidate.id) && !named.has(candidate.id))
  return rule ? `${current.trim()} ${rule.sentence}` : reword(current)
}

/** A merge of two instructions: the first, plus the rules only the second names. */
export function merge(teaching: Teaching, first: string, second: string): string {
  const named = namedRules(teaching.rules, first)
  const extra = teaching.rules.filter((rule) => !named.has(rule.id) && rule.named.test(second))
  return [first.trim(), ...extra.map((rule) => rule.sentence)].join(' ')
}

/** ax's tuples as rendered: `[{ input, prediction, score }]`. */
interface Tuple {
  input?: unknown
  prediction?: unknown
  score?: unknown
}

const asArray = (text: string | undefined): unknown[] => {
  const value = jsonInput(text)
  return Array.isArray(value) ? value : []
}

const shown = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value))

/**
 * GEPA's feedback summary (inputs `minibatch`, `evalFeedback`): keeps each piece of feedback that
 * evidences a rule, next to the input it is about, as a careful summarizer would; with none, a
 * summary that says nothing concrete.
 */
export function summarize(teaching: Teaching, call: ScriptedCall): string {
  const tuples = asArray(call.inputs.minibatch) as Tuple[]
  const feedback = asArray(call.inputs.evalFeedback).map(shown)
  const paired = feedback.length === tuples.length
  const lines = feedback
    .map((text, index) => (paired ? `- ${shown(tuples[index]?.input)}: ${text}` : `- ${text}`))
    .filter((line) => teaching.evidenced(line).length > 0)
  return lines.length === 0 ? 'Some replies were weak.' : `Problems seen:\n${lines.join('\n')}`
}

/** The template of AxGEPA's plain-chat reflection (no output fields; the answer goes in ``` blocks). */
const reflectionTemplate = /I provided an assistant with the following instructions[^`]*```\n?([\s\S]*?)\n?```/

/**
 * The teacher's side of a world: proposals, merges, feedback summaries and generated inputs; else
 * undefined. A proposal is any call with an output named like an instruction (`newValue`,
 * `newInstruction`, `text`...) and an input holding the current one (named `current...`, else `...instruction...`).
 */
export function teacherReply(
  teaching: Teaching,
  pool: readonly Record<string, string>[],
  next: () => number,
  call: ScriptedCall,
  /** The right output for an input, for a generation call that asks for outputs too. */
  answer?: (input: Record<string, string>) => Record<string, string>,
): ScriptedReply | undefined {
  const text = promptText(call)
  const outputs = call.outputs
  if (outputs.includes('feedbackSummary')) return { feedbackSummary: summarize(teaching, call) }
  if (outputs.includes('mergedInstruction'))
    return { mergedInstruction: merge(teaching, call.inputs.instructionA ?? '', call.inputs.instructionB ?? '') }
  const output = outputs.find((name) => /instruction|newValue|text/i.test(name))
  const inputs = Object.keys(call.inputs)
  const current = inputs.find((name) => /current/i.test(name)) ?? inputs.find((name) => /instruction/i.test(name))
  if (output && current !== undefined) return { [output]: propose(teaching, call.inputs[current] ?? '', text) }
  const template = outputs.length === 0 ? reflectionTemplate.exec(text) : null
  if (template) return `\`\`\`\n${propose(teaching, template[1] ?? '', text)}\n\`\`\``
  if (outputs.includes('examples') && call.inputs.count !== undefined) {
    const count = Number(call.inputs.count)
    const withOutputs = answer && call.inputs.output_fields !== undefined
    return {
      examples: Array.from({ length: count }, () => {
        const input = pool[next() % pool.length]!
        return withOutputs ? { ...input, ...answer(input) } : input
      }),
    }
  }
  return undefined
}

/** A world: a spec, the scripted model behind it, and the true quality of any instruction. */
export interface World<IN extends Record<string, string>, OUT extends AxGenOut> {
  name: string
  /** The spec's seed instruction, its true quality, and the best any instruction reaches. */
  seedInstruction: string
  seedQuality: number
  ceilingInstruction: string
  ceiling: number
  spec(options?: { budget?: number; synthCount?: number }): LearnSpec<IN, OUT>
  /** A fresh script (its own noise and input counters); `seed` seeds the judge's noise. */
  createScript(options?: { seed?: number }): Script
  /** Inputs the teacher hands out as synthetic cases. */
  pool: readonly IN[]
  /** The spec's 16 case inputs followed by the hidden ones: what true quality is measured on. */
  evaluationSet: readonly IN[]
  /** Mean score over the evaluation set of what the student answers under `instruction`, computed from the rules. */
  trueQuality(instruction: string): number
  teaching: Teaching
}

/** Any world, as code that runs every world takes it. */
export type SomeWorld = World<Record<string, string>, AxGenOut>

/** A deterministic list of `count` distinct values from `make(random)`. */
export function distinct(count: number, make: () => string): string[] {
  const seen = new Set<string>()
  for (let tries = 0; seen.size < count; tries++) {
    if (tries > count * 100) throw new Error(`could only make ${seen.size} distinct inputs of ${count}`)
    seen.add(make())
  }
  return [...seen]
}
