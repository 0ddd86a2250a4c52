import type { AxAgent, AxAIArgs, AxAIService, AxGen, AxGenIn, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import type { LearnToolCall } from './formats/types.generated.js'
import { hashOf } from './hash.js'
import { findNotJson } from './json-data.js'
import { isAgent, toolsOf, type SomeProgram } from './program/tools.js'
import { redact } from './redact.js'
import { unknownNameMessage } from './suggest.js'

/**
 * Plain `ai()` arguments, loosely typed so that any model name is accepted (ax's own types list
 * only the models it knows). Being plain data, they can cross into test workers.
 */
export interface LearnAIArgs {
  name: AxAIArgs<string>['name']
  apiKey?: string
  apiURL?: string
  config?: { model?: string; [key: string]: unknown }
  [key: string]: unknown
}

/** `ai()` arguments or a ready ax service. */
export type LearnModel = LearnAIArgs | AxAIService

/** An earlier turn of a conversation: what the user sent, or what the program answered. */
export type LearnTurn<IN, OUT> = { role: 'user'; input: IN } | { role: 'assistant'; output: OUT }

export interface LearnCase<IN, OUT> {
  /** Stable id for the recordings; defaults to a hash of `input` (and `history`). */
  id?: string
  /** Test name; defaults to the input, shortened. */
  name?: string
  /** The input of the turn the program answers. */
  input: IN
  /**
   * The conversation before `input`: user and assistant turns, alternating, starting with the user.
   * The program sees them as it would in a live chat (ax's memory); only the last turn is answered.
   */
  history?: LearnTurn<IN, OUT>[]
  /** Reference output, shown to the judge and to `metric` as part of `example`. */
  expected?: Partial<OUT>
  /** Extra rubric for this case only. */
  criteria?: string
}

/** What the program did to answer a case: its tool calls and its model calls. */
export interface LearnTrajectory {
  /** Every tool it called, in order, with the arguments, and the result or error (tools marked live included). */
  toolCalls: LearnToolCall[]
  /** Model calls it made (ax's steps: one, plus one after each round of tool calls). */
  steps: number
}

export type { LearnToolCall }

export interface LearnMetricArgs<IN, OUT> {
  prediction: OUT
  example: IN & Partial<OUT>
  /** The tools called and the steps taken: check the right tool, its arguments, the number of steps. */
  trajectory: LearnTrajectory
}
/** A metric's verdict: a score in [0, 1], or the score with the reason it was given (the optimizer's feedback). */
export type LearnMetricResult = number | { score: number; reason?: string }
export type LearnMetric<IN, OUT> = (args: LearnMetricArgs<IN, OUT>) => LearnMetricResult | Promise<LearnMetricResult>
/**
 * A named scorer. Declared through a method, as `metric` is, so that a spec of any program still
 * counts as a spec of some program (method parameters are compared bivariantly).
 */
export type LearnScorer<IN, OUT> = { score(args: LearnMetricArgs<IN, OUT>): LearnMetricResult | Promise<LearnMetricResult> }['score']

export interface LearnOptimizeOptions {
  /** Optimization rounds: each a few reflective proposals and their evaluation. Default 20. */
  budget?: number
  synthCount?: number
  useTraces?: boolean
  generateExamples?: boolean
}

/** The judge's rubric, and whether it also sees the tool calls the program made. */
export interface LearnJudgeOptions {
  rubric: string
  /** Show the judge the trajectory (each tool call with its arguments and result) beside the answer. Default false. */
  trajectory?: boolean
}

export interface LearnSpecInput<IN, OUT extends AxGenOut> {
  /** Version key: recordings live in snapshots/<name>/. */
  name: string
  /** An ax() program (with or without `functions`), or an agent(). */
  program: AxGen<IN, OUT> | AxAgent<IN & AxGenIn, OUT>
  /** Seed prompt; required unless the program already carries an instruction (an agent's never does). */
  instruction?: string
  cases: LearnCase<IN, OUT>[]
  /** Rubric for the LLM judge, or `{ rubric, trajectory: true }` for a judge that also sees the tool calls. */
  judge?: string | LearnJudgeOptions
  /**
   * Tools that run in every mode, replay included: pure and local ones (a clock, a calculator). Every
   * other tool's result is recorded beside the model call that asked for it and replayed.
   */
  liveTools?: string[]
  /**
   * Deterministic scorer in [0, 1], or `{ score, reason }`; averaged with the judge when both exist.
   * Without a reason, a failing case's feedback is what differs from `expected` ("expected high, got normal").
   */
  metric?(args: LearnMetricArgs<IN, OUT>): LearnMetricResult | Promise<LearnMetricResult>
  /**
   * Named deterministic scorers in [0, 1] (e.g. `{ exact, length }`), each reported on its own in
   * traces, the summary and the report; a reply scores the mean of the judge, `metric` and these.
   */
  metrics?: Record<string, LearnScorer<IN, OUT>>
  /** Student replies per case, each scored; a case scores their mean. Default 5 (see BENCHMARKS.md). */
  samples?: number
  /** Judge verdicts per reply; a reply's judge score is their mean. Default 1. */
  judgeSamples?: number
  /** Mean score the spec must reach. Default 0.8. */
  threshold?: number
  /** Allowed drop of the mean score against the checkpoint's baseline. Default 0.05. */
  tolerance?: number
  optimize?: LearnOptimizeOptions
  student?: LearnModel
  teacher?: LearnModel
  judgeModel?: LearnModel
}

export interface LearnResolvedCase<IN, OUT> extends LearnCase<IN, OUT> {
  id: string
  name: string
  /** Position in the spec's `cases`. */
  index: number
}

export interface LearnSpec<IN = Record<string, unknown>, OUT extends AxGenOut = AxGenOut>
  extends Omit<LearnSpecInput<IN, OUT>, 'cases' | 'judge' | 'liveTools'> {
  readonly kind: 'vitest-learn/spec'
  instruction: string
  cases: LearnResolvedCase<IN, OUT>[]
  /** The judge's rubric. */
  judge?: string
  /** The judge also sees the trajectory. */
  judgeTrajectory: boolean
  liveTools: string[]
  threshold: number
  tolerance: number
  samples: number
  judgeSamples: number
}

/**
 * The fields each object of a spec may have; anything else is a typo and is rejected. Typed
 * against the interfaces, so a field added there and not here (or the reverse) fails to compile.
 */
const knownFields: {
  spec: Record<keyof LearnSpecInput<unknown, AxGenOut>, true>
  case: Record<keyof LearnCase<unknown, unknown>, true>
  optimize: Record<keyof LearnOptimizeOptions, true>
  judge: Record<keyof LearnJudgeOptions, true>
} = {
  spec: {
    name: true,
    program: true,
    instruction: true,
    cases: true,
    judge: true,
    liveTools: true,
    metric: true,
    metrics: true,
    samples: true,
    judgeSamples: true,
    threshold: true,
    tolerance: true,
    optimize: true,
    student: true,
    teacher: true,
    judgeModel: true,
  },
  case: { id: true, name: true, input: true, history: true, expected: true, criteria: true },
  optimize: { budget: true, synthCount: true, useTraces: true, generateExamples: true },
  judge: { rubric: true, trajectory: true },
}

export const defaultThreshold = 0.8
export const defaultTolerance = 0.05
/**
 * Five replies per case: the fewest that met the gate's goal (a true drop of 0.1 caught at least 9
 * times in 10, false alarms at most 1 in 20) on a noisy judged spec of 16 cases, where one reply
 * catches it about half the time, three 86%, four 89.5% (bench/gate-trust.ts, BENCHMARKS.md).
 */
export const defaultSamples = 5
export const defaultJudgeSamples = 1
const maxSamples = 100
/** Scorer names that name the judge and `metric` in reports. */
const reservedScorers = ['judge', 'metric']
const scorerNamePattern = /^[A-Za-z][A-Za-z0-9_-]*$/
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** A spec name names a folder; well below every file system's limit of 255 bytes per name. */
export const maxNameLength = 100

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function fail(field: string, message: string, fix?: string): never {
  throw new LearnError(message, { field, fix })
}

/** A value as the user wrote it: JSON would print NaN and Infinity as null. */
const show = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value))

/** Rejects a key `fields` does not list, suggesting the field it most likely misspells. */
function checkFields(value: Record<string, unknown>, fields: Record<string, true>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) fail(`${prefix}${key}`, unknownNameMessage('field', key, Object.keys(fields)))
  }
}

/** Inputs and references are hashed and recorded as JSON, so they must be JSON data. */
function checkJsonData(value: unknown, field: string): void {
  const problem = findNotJson(value, field)
  if (problem)
    fail(
      problem.path,
      `is ${problem.found}, which cannot be recorded: case inputs and expected outputs must be JSON data (strings, numbers, booleans, null, arrays, plain objects)`,
    )
}

function checkCount(value: unknown, field: string): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= maxSamples))
    fail(field, `must be a whole number from 1 to ${maxSamples}, got ${show(value)}`)
}

function checkMetrics(metrics: unknown): void {
  if (metrics === undefined) return
  if (!isRecord(metrics) || Object.keys(metrics).length === 0)
    fail('metrics', 'must be an object of named scorers, e.g. { exact: ({ prediction, example }) => ..., length: ... }')
  for (const [name, scorer] of Object.entries(metrics)) {
    if (!scorerNamePattern.test(name)) fail(`metrics.${name}`, 'must be named with letters, digits, dash or underscore, starting with a letter')
    if (reservedScorers.includes(name))
      fail(`metrics.${name}`, `"${name}" names ${name === 'judge' ? 'the judge' : 'the spec\'s `metric`'} in reports`, 'give this scorer another name')
    if (typeof scorer !== 'function') fail(`metrics.${name}`, 'must be a function ({ prediction, example }) => number')
  }
}

function checkUnit(value: unknown, field: string): void {
  if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= 1)))
    fail(field, `must be a number from 0 to 1, got ${show(value)}`)
}

export function isModel(value: unknown): boolean {
  return isRecord(value) && (typeof value.name === 'string' || typeof value.chat === 'function')
}

/** A case's default test name: its input, with `secrets` redacted before it is shortened, so no part of a key survives. */
export function caseName(input: unknown, secrets: readonly string[] = []): string {
  const text = redact(JSON.stringify(input) ?? '', secrets)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** A case's earlier turns: user and assistant, alternating, starting with the user, each JSON data. */
function checkHistory(history: unknown, field: string, inputFields: readonly string[], program: SomeProgram): void {
  if (history === undefined) return
  if (isAgent(program)) fail(field, 'is a conversation, but the program is an agent(), which keeps no chat memory', 'make it an ax() program, or put the earlier turns into an input field')
  if (!Array.isArray(history) || history.length === 0 || history.length % 2 !== 0)
    fail(field, 'must be pairs of turns: [{ role: \'user\', input }, { role: \'assistant\', output }, ...], the case\'s `input` being the last user turn')
  history.forEach((turn: unknown, index) => {
    const at = `${field}[${index}]`
    const role = index % 2 === 0 ? 'user' : 'assistant'
    const key = role === 'user' ? 'input' : 'output'
    if (!isRecord(turn) || turn.role !== role || !isRecord(turn[key]))
      fail(at, `must be { role: '${role}', ${key}: { ... } }: turns alternate, starting with the user`)
    checkFields(turn, { role: true, [key]: true }, `${at}.`)
    checkJsonData(turn[key], `${at}.${key}`)
    const missing = role === 'user' ? inputFields.filter((name) => !(name in (turn[key] as Record<string, unknown>))) : []
    if (missing.length > 0) fail(`${at}.input`, `lacks the program’s input field(s) ${missing.join(', ')}`)
  })
}

function resolveCases<IN, OUT>(cases: unknown, inputFields: string[], program: SomeProgram): LearnResolvedCase<IN, OUT>[] {
  if (!Array.isArray(cases) || cases.length === 0)
    fail('cases', 'must be a non-empty array of { input, expected?, criteria? }')
  const seen = new Map<string, number>()
  return cases.map((item: unknown, index) => {
    const field = `cases[${index}]`
    if (!isRecord(item)) fail(field, 'must be an object with an `input`')
    checkFields(item, knownFields.case, `${field}.`)
    if (!isRecord(item.input)) fail(`${field}.input`, 'must be an object of the program’s input fields')
    checkJsonData(item.input, `${field}.input`)
    const missing = inputFields.filter((name) => !(name in (item.input as Record<string, unknown>)))
    if (missing.length > 0) fail(`${field}.input`, `lacks the program’s input field(s) ${missing.join(', ')}`)
    if (item.expected !== undefined && !isRecord(item.expected)) fail(`${field}.expected`, 'must be an object of output fields')
    checkJsonData(item.expected, `${field}.expected`)
    checkHistory(item.history, `${field}.history`, inputFields, program)
    if (item.criteria !== undefined && typeof item.criteria !== 'string') fail(`${field}.criteria`, 'must be a string')
    if (item.name !== undefined && typeof item.name !== 'string') fail(`${field}.name`, 'must be a string')
    if (item.id !== undefined && (typeof item.id !== 'string' || !namePattern.test(item.id)))
      fail(`${field}.id`, 'must be a string of letters, digits, dot, dash or underscore')
    const id = (item.id as string | undefined) ?? hashOf(item.history === undefined ? item.input : { history: item.history, input: item.input }, 12)
    const earlier = seen.get(id)
    if (earlier !== undefined)
      fail(
        item.id === undefined ? `${field}.input` : `${field}.id`,
        item.id === undefined
          ? `has the same input as cases[${earlier}], so both would share one recording`
          : `repeats the id of cases[${earlier}] (${id})`,
        'give one of the two cases a distinct `id`, or remove the duplicate',
      )
    seen.set(id, index)
    return { ...(item as unknown as LearnCase<IN, OUT>), id, index, name: (item.name as string | undefined) ?? caseName(item.input) }
  })
}

/** Declares a learn spec. Validates every field; errors name the field and what was expected. */
export function defineLearn<IN, OUT extends AxGenOut>(input: LearnSpecInput<IN, OUT>): LearnSpec<IN, OUT> {
  if (!isRecord(input)) fail('(spec)', 'defineLearn() takes one object: { name, program, instruction, cases, judge | metric }')
  checkFields(input, knownFields.spec, '')
  if (typeof input.name !== 'string' || !namePattern.test(input.name))
    fail('name', `must be a non-empty string of letters, digits, dot, dash or underscore (it names the folder snapshots/<name>/), got ${JSON.stringify(input.name)}`)
  if (input.name.length > maxNameLength)
    fail('name', `is ${input.name.length} characters long; it names the folder snapshots/<name>/, so it must be at most ${maxNameLength}`, 'choose a shorter name')
  const program = input.program as unknown
  if (
    !isAgent(program) &&
    (!isRecord(program) ||
      typeof program.forward !== 'function' ||
      typeof program.getSignature !== 'function' ||
      typeof program.clone !== 'function')
  )
    fail('program', 'must be an ax program, e.g. ax(\'question:string -> answer:string\'), or an agent(...)')
  const instruction = input.instruction ?? (isAgent(input.program) ? undefined : input.program.getInstruction())
  if (input.instruction !== undefined && typeof input.instruction !== 'string') fail('instruction', 'must be a string')
  if (typeof instruction !== 'string' || instruction.trim() === '')
    fail('instruction', 'is required: optimization cannot start from an empty prompt', 'add a seed prompt, e.g. instruction: \'Answer the question in one sentence.\'')
  const judge = resolveJudge(input.judge)
  if (input.metric !== undefined && typeof input.metric !== 'function') fail('metric', 'must be a function ({ prediction, example }) => number | { score, reason }')
  checkMetrics(input.metrics)
  if (input.judge === undefined && input.metric === undefined && input.metrics === undefined)
    fail('judge', 'a spec needs a `judge` rubric, a `metric` or `metrics` (or several of them) to score its cases')
  checkUnit(input.threshold, 'threshold')
  checkUnit(input.tolerance, 'tolerance')
  checkCount(input.samples, 'samples')
  checkCount(input.judgeSamples, 'judgeSamples')
  if (input.optimize !== undefined) {
    if (!isRecord(input.optimize)) fail('optimize', 'must be an object { budget?, synthCount?, useTraces?, generateExamples? }')
    checkFields(input.optimize, knownFields.optimize, 'optimize.')
    for (const key of ['budget', 'synthCount'] as const) {
      const value: unknown = input.optimize[key]
      if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 0)) fail(`optimize.${key}`, `must be a whole number >= 0, got ${show(value)}`)
    }
    for (const key of ['useTraces', 'generateExamples'] as const) {
      const value = input.optimize[key]
      if (value !== undefined && typeof value !== 'boolean') fail(`optimize.${key}`, 'must be true or false')
    }
  }
  for (const key of ['student', 'teacher', 'judgeModel'] as const) {
    if (input[key] !== undefined && !isModel(input[key]))
      fail(key, 'must be an ax service or ai() arguments such as { name: \'openai\', apiKey, config: { model } }')
  }
  const liveTools = resolveLiveTools(input.liveTools, input.program as SomeProgram)
  const inputFields = input.program
    .getSignature()
    .getInputFields()
    .filter((field) => !field.isOptional)
    .map((field) => field.name)
  const { judge: _judge, liveTools: _liveTools, ...rest } = input
  return {
    ...rest,
    kind: 'vitest-learn/spec',
    instruction,
    ...(judge ? { judge: judge.rubric } : {}),
    judgeTrajectory: judge?.trajectory ?? false,
    liveTools,
    cases: resolveCases<IN, OUT>(input.cases, inputFields, input.program as SomeProgram),
    threshold: input.threshold ?? defaultThreshold,
    tolerance: input.tolerance ?? defaultTolerance,
    samples: input.samples ?? defaultSamples,
    judgeSamples: input.judgeSamples ?? defaultJudgeSamples,
  }
}

/** `judge` as a rubric string, or `{ rubric, trajectory }`. */
function resolveJudge(judge: unknown): Required<LearnJudgeOptions> | undefined {
  if (judge === undefined) return undefined
  if (typeof judge === 'string') {
    if (judge.trim() === '') fail('judge', 'must be a non-empty rubric string, or { rubric, trajectory }')
    return { rubric: judge, trajectory: false }
  }
  if (!isRecord(judge)) fail('judge', 'must be a rubric string, or { rubric, trajectory }')
  checkFields(judge, knownFields.judge, 'judge.')
  if (typeof judge.rubric !== 'string' || judge.rubric.trim() === '') fail('judge.rubric', 'must be a non-empty rubric string')
  if (judge.trajectory !== undefined && typeof judge.trajectory !== 'boolean') fail('judge.trajectory', 'must be true or false')
  return { rubric: judge.rubric, trajectory: judge.trajectory ?? false }
}

/** Names of the program's tools, each one it has, that run live in every mode. */
function resolveLiveTools(liveTools: unknown, program: SomeProgram): string[] {
  if (liveTools === undefined) return []
  if (!Array.isArray(liveTools) || liveTools.some((name) => typeof name !== 'string'))
    fail('liveTools', 'must be an array of tool names, e.g. [\'currentTime\']')
  const names = toolsOf(program).map((tool) => tool.name)
  liveTools.forEach((name: string, index) => {
    if (!names.includes(name))
      fail(`liveTools[${index}]`, names.length === 0 ? `names "${name}", but the program has no functions` : unknownNameMessage('tool', name, names))
  })
  return liveTools as string[]
}

/**
 * The spec with `secrets` redacted from every case's test name, which reaches the console and
 * report files. A default name (one equal to the shortened input) is rebuilt from the whole
 * input, so a key that shortening cut in two is caught too.
 */
export function redactCaseNames(spec: SomeLearnSpec, secrets: readonly string[]): SomeLearnSpec {
  if (secrets.length === 0) return spec
  const cases = spec.cases.map((item) => ({
    ...item,
    name: item.name === caseName(item.input) ? caseName(item.input, secrets) : redact(item.name, secrets),
  }))
  return { ...spec, cases }
}

/** Any spec, whatever its program's fields: what code that runs specs generically takes. */
export type SomeLearnSpec = LearnSpec<Record<string, unknown>, AxGenOut>
export type SomeLearnCase = LearnResolvedCase<Record<string, unknown>, AxGenOut>

export function isLearnSpec(value: unknown): value is SomeLearnSpec {
  return isRecord(value) && value.kind === 'vitest-learn/spec'
}
