import type { AxAIArgs, AxAIService, AxGen, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { hashOf } from './hash.js'
import { findNotJson } from './json-data.js'
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

export interface LearnCase<IN, OUT> {
  /** Stable id for the recordings; defaults to a hash of `input`. */
  id?: string
  /** Test name; defaults to the input, shortened. */
  name?: string
  input: IN
  /** Reference output, shown to the judge and to `metric` as part of `example`. */
  expected?: Partial<OUT>
  /** Extra rubric for this case only. */
  criteria?: string
}

export interface LearnMetricArgs<IN, OUT> {
  prediction: OUT
  example: IN & Partial<OUT>
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

export interface LearnSpecInput<IN, OUT extends AxGenOut> {
  /** Version key: recordings live in snapshots/<name>/. */
  name: string
  program: AxGen<IN, OUT>
  /** Seed prompt; required unless the program already carries an instruction. */
  instruction?: string
  cases: LearnCase<IN, OUT>[]
  /** Rubric for the LLM judge. */
  judge?: string
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
  extends Omit<LearnSpecInput<IN, OUT>, 'cases'> {
  readonly kind: 'vitest-learn/spec'
  instruction: string
  cases: LearnResolvedCase<IN, OUT>[]
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
} = {
  spec: {
    name: true,
    program: true,
    instruction: true,
    cases: true,
    judge: true,
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
  case: { id: true, name: true, input: true, expected: true, criteria: true },
  optimize: { budget: true, synthCount: true, useTraces: true, generateExamples: true },
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

function resolveCases<IN, OUT>(cases: unknown, inputFields: string[]): LearnResolvedCase<IN, OUT>[] {
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
    if (item.criteria !== undefined && typeof item.criteria !== 'string') fail(`${field}.criteria`, 'must be a string')
    if (item.name !== undefined && typeof item.name !== 'string') fail(`${field}.name`, 'must be a string')
    if (item.id !== undefined && (typeof item.id !== 'string' || !namePattern.test(item.id)))
      fail(`${field}.id`, 'must be a string of letters, digits, dot, dash or underscore')
    const id = (item.id as string | undefined) ?? hashOf(item.input, 12)
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
    !isRecord(program) ||
    typeof program.forward !== 'function' ||
    typeof program.getSignature !== 'function' ||
    typeof program.clone !== 'function'
  )
    fail('program', 'must be an ax program, e.g. ax(\'question:string -> answer:string\')')
  const instruction = input.instruction ?? input.program.getInstruction()
  if (input.instruction !== undefined && typeof input.instruction !== 'string') fail('instruction', 'must be a string')
  if (typeof instruction !== 'string' || instruction.trim() === '')
    fail('instruction', 'is required: optimization cannot start from an empty prompt', 'add a seed prompt, e.g. instruction: \'Answer the question in one sentence.\'')
  if (input.judge !== undefined && (typeof input.judge !== 'string' || input.judge.trim() === ''))
    fail('judge', 'must be a non-empty rubric string')
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
  const inputFields = input.program
    .getSignature()
    .getInputFields()
    .filter((field) => !field.isOptional)
    .map((field) => field.name)
  return {
    ...input,
    kind: 'vitest-learn/spec',
    instruction,
    cases: resolveCases<IN, OUT>(input.cases, inputFields),
    threshold: input.threshold ?? defaultThreshold,
    tolerance: input.tolerance ?? defaultTolerance,
    samples: input.samples ?? defaultSamples,
    judgeSamples: input.judgeSamples ?? defaultJudgeSamples,
  }
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
