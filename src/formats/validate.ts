import type { ErrorObject } from 'ajv'
import { LearnError } from '../errors.js'
import type { LearnCheckpoint, LearnHistoryLine, LearnOptimizeRun, LearnReport, LearnSynthetic, LearnTape, LearnTraceLine } from './types.generated.js'
import * as generated from './validators.generated.js'

export interface FormatTypes {
  tape: LearnTape
  trace: LearnTraceLine
  checkpoint: LearnCheckpoint
  synthetic: LearnSynthetic
  optimizeRun: LearnOptimizeRun
  history: LearnHistoryLine
  report: LearnReport
}
export type FormatKind = keyof FormatTypes

/** The validators `npm run gen:types` compiles from schemas/ ahead of time. */
type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null }
const validators: Record<FormatKind, Validator> = generated

/** `/entries/3/key` → `entries[3].key` */
function fieldName(instancePath: string): string {
  if (instancePath === '') return '(root)'
  return instancePath
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('')
}

function describe(error: ErrorObject): string {
  const detail =
    error.keyword === 'additionalProperties'
      ? ` (${String(error.params.additionalProperty)})`
      : error.keyword === 'enum' || error.keyword === 'const'
        ? ` (${JSON.stringify(error.params.allowedValues ?? error.params.allowedValue)})`
        : ''
  return `${error.message ?? 'is invalid'}${detail}`
}

export function assertFormat<K extends FormatKind>(
  kind: K,
  value: unknown,
  file: string,
  fix: string,
): asserts value is FormatTypes[K] {
  const validate = validators[kind]
  if (validate(value)) return
  const errors = (validate.errors ?? []).filter((error) => error.keyword !== 'oneOf' && error.keyword !== 'if')
  const first = errors[0] ?? validate.errors?.[0]
  const others = errors.slice(1, 4).map((error) => `${fieldName(error.instancePath)} ${describe(error)}`)
  throw new LearnError(
    [
      `${first ? describe(first) : 'is invalid'}; this is not a valid ${kind} file and it was left untouched`,
      ...others.map((line) => `  also: ${line}`),
    ].join('\n'),
    { file, field: first ? fieldName(first.instancePath) : undefined, fix },
  )
}
