import type { AxGenOut } from '@ax-llm/ax'
import { hashOf } from '../hash.js'
import type { SomeLearnCase, SomeLearnSpec } from '../spec.js'
import { seededRandom } from '../stats.js'

/** A case of an optimize run, and where it came from. */
export interface OptimizeCase extends SomeLearnCase {
  source: 'spec' | 'trace' | 'synthetic'
}

export interface ProgramFields {
  inputs: string[]
  requiredInputs: string[]
  outputs: string[]
}

export function programFields(spec: SomeLearnSpec): ProgramFields {
  const signature = spec.program.getSignature()
  const inputs = signature.getInputFields()
  return {
    inputs: inputs.map((field) => field.name),
    requiredInputs: inputs.filter((field) => !field.isOptional).map((field) => field.name),
    outputs: signature.getOutputFields().map((field) => field.name),
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The named fields of a value (JSON data), or undefined when it is not an object or lacks a required one. */
export function pickFields(value: unknown, names: readonly string[], required: readonly string[] = []): AxGenOut | undefined {
  if (!isRecord(value) || required.some((name) => value[name] === undefined || value[name] === null)) return undefined
  return Object.fromEntries(names.filter((name) => value[name] !== undefined).map((name) => [name, value[name]])) as AxGenOut
}

export const inputKey = (input: unknown): string => hashOf(input)

export interface SplitInput {
  /** The spec's cases: always held out, so the decision is made on what the gate checks. */
  specCases: readonly OptimizeCase[]
  /** Traces and synthetic cases, most important first (failures to fix, good answers, recent, synthetic). */
  others: readonly OptimizeCase[]
  /** Share of `others` held out for the decision. */
  holdoutShare: number
  seed: number
}

export interface Split {
  /** What GEPA learns from, most important first (GEPA's Pareto set is its head). */
  train: OptimizeCase[]
  /** The held-out cases the decision is made on; never seen by GEPA. */
  validation: OptimizeCase[]
  /** Cases dropped because an earlier case had the same input. */
  duplicates: number
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed)
  const copy = [...items]
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1))
    ;[copy[index], copy[other]] = [copy[other]!, copy[index]!]
  }
  return copy
}

/**
 * De-duplicates by input (the spec's cases win, then the earlier of the others) and splits:
 * validation = the spec's cases + a seeded share of the others; train = the rest, in the order given.
 * At least two others stay in train, as GEPA needs two examples.
 */
export function splitCases(input: SplitInput): Split {
  const seen = new Set(input.specCases.map((item) => inputKey(item.input)))
  const unique: OptimizeCase[] = []
  for (const item of input.others) {
    const key = inputKey(item.input)
    if (seen.has(key)) continue
    seen.add(key)
    unique.push(item)
  }
  const held = Math.max(0, Math.min(Math.round(unique.length * input.holdoutShare), unique.length - 2))
  const heldOut = new Set(shuffled(unique, input.seed).slice(0, held))
  return {
    train: unique.filter((item) => !heldOut.has(item)),
    validation: [...input.specCases, ...unique.filter((item) => heldOut.has(item))],
    duplicates: input.others.length - unique.length,
  }
}
