import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { LearnError } from '../errors.js'
import type { LearnCheckpoint, LearnHistoryLine, LearnReport, LearnSynthetic, LearnTape, LearnTraceLine } from './types.generated.js'

export interface FormatTypes {
  tape: LearnTape
  trace: LearnTraceLine
  checkpoint: LearnCheckpoint
  synthetic: LearnSynthetic
  history: LearnHistoryLine
  report: LearnReport
}
export type FormatKind = keyof FormatTypes

/** schemas/ sits at the package root, both beside src/ and above dist/src/. */
function findSchemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'schemas', 'tape.schema.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('vitest-learn: cannot find its schemas/ folder; reinstall the package')
    dir = parent
  }
  return join(dir, 'schemas')
}

export const schemasDir = findSchemasDir()

const readSchema = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(schemasDir, `${name}.schema.json`), 'utf8'))

const ajv = new Ajv({ allErrors: true, strict: true })
ajv.addFormat('date-time', {
  type: 'string',
  validate: (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) && !Number.isNaN(Date.parse(value)),
})
// json-schema-to-typescript's type annotation, not a validation keyword.
ajv.addKeyword('tsType')
ajv.addSchema(readSchema('usage'))

const validators: { [K in FormatKind]?: ValidateFunction } = {}
function validatorFor(kind: FormatKind): ValidateFunction {
  return (validators[kind] ??= ajv.compile(readSchema(kind)))
}

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
  const validate = validatorFor(kind)
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
