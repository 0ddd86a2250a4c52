import { LearnError } from '../errors.js'
import type { AxCheckpoint, AxStorageItem, AxStorageQuery, AxTrace } from './types.js'

// Every adapter runs its input through these checks first, so all of them accept and reject the
// same things. The limits follow schemas/*.schema.json, since the files adapter must be able to
// write whatever the others accept, and what every adapter can key on: a name is a folder name
// (at most 255 bytes on common file systems), and a trace id must fit in a Postgres index entry
// (about 2.7 kB with the name beside it). Checkpoint versions go up to Number.MAX_SAFE_INTEGER
// everywhere (bigint in Postgres).

const MAX_NAME_BYTES = 255
const MAX_ID_BYTES = 1024

function fail(field: string, message: string): never {
  throw new LearnError(message, { field })
}

function describeValue(value: unknown): string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : `Date ${value.toISOString()}`
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

function checkKeys(value: Record<string, unknown>, known: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && value[key] !== undefined) {
      fail(`${field}.${key}`, `is not a field of ${field}; known fields: ${known.join(', ')}`)
    }
  }
}

/** Names become folder names (files adapter) and keys (databases): one path segment of well-formed text. */
export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name === '') fail(field, `must be a non-empty string, got ${describeValue(name)}`)
  if (LONE_SURROGATE.test(name) || /[\u0000-\u001f/\\]/.test(name) || name === '.' || name === '..') {
    fail(field, `must be usable as a folder name (no "/", "\\", control characters, "." or ".."), got ${describeValue(name)}`)
  }
  checkBytes(name, MAX_NAME_BYTES, field, 'a folder name')
  return name
}

function checkBytes(text: string, max: number, field: string, why: string): void {
  const bytes = Buffer.byteLength(text)
  if (bytes > max) fail(field, `must be at most ${max} bytes of UTF-8 (${why}), got ${bytes} bytes: ${describeValue(text)}`)
}

function checkId(id: unknown, field: string): string {
  if (typeof id !== 'string' || id === '') fail(field, `must be a non-empty string, got ${describeValue(id)}`)
  if (LONE_SURROGATE.test(id) || id.includes('\u0000')) fail(field, `must be well-formed text without NUL characters`)
  checkBytes(id, MAX_ID_BYTES, field, 'every store indexes it')
  return id
}

const MIN_TIME = Date.parse('0001-01-01T00:00:00.000Z')
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z')

function checkDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(field, `must be a valid Date, got ${describeValue(value)}`)
  const time = value.getTime()
  if (time < MIN_TIME || time > MAX_TIME) fail(field, `must be a Date between the years 1 and 9999, got ${describeValue(value)}`)
  return value
}

function checkInteger(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(field, `must be an integer >= ${min}, got ${describeValue(value)}`)
  }
  return value
}

function checkFiniteNumber(value: unknown, field: string, min = -Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(field, `must be a finite number${min === -Infinity ? '' : ` >= ${min}`}, got ${describeValue(value)}`)
  }
}

function checkOptional(value: unknown, field: string, check: (value: unknown, field: string) => void): void {
  if (value !== undefined) check(value, field)
}

function checkString(value: unknown, field: string): void {
  if (typeof value !== 'string') fail(field, `must be a string, got ${describeValue(value)}`)
}

function checkObject(value: unknown, field: string): void {
  if (!isPlainObject(value)) fail(field, `must be a plain object, got ${describeValue(value)}`)
}

const TRACE_KEYS = [
  'type',
  'id',
  'name',
  'input',
  'output',
  'startTime',
  'endTime',
  'durationMs',
  'model',
  'usage',
  'feedback',
  'error',
  'metadata',
] as const
const USAGE_KEYS = ['promptTokens', 'completionTokens', 'totalTokens'] as const
const FEEDBACK_KEYS = ['score', 'label', 'comment'] as const
const CHECKPOINT_KEYS = [
  'type',
  'name',
  'version',
  'createdAt',
  'instruction',
  'examples',
  'score',
  'optimizerType',
  'metadata',
] as const

function checkTrace(trace: Record<string, unknown>): AxTrace {
  checkKeys(trace, TRACE_KEYS, 'trace')
  checkId(trace.id, 'trace.id')
  checkName(trace.name, 'trace.name')
  checkObject(trace.input, 'trace.input')
  checkObject(trace.output, 'trace.output')
  checkDate(trace.startTime, 'trace.startTime')
  checkDate(trace.endTime, 'trace.endTime')
  checkFiniteNumber(trace.durationMs, 'trace.durationMs', 0)
  checkOptional(trace.model, 'trace.model', checkString)
  checkOptional(trace.usage, 'trace.usage', (usage, field) => {
    checkObject(usage, field)
    const fields = usage as Record<string, unknown>
    checkKeys(fields, USAGE_KEYS, field)
    for (const key of USAGE_KEYS) checkInteger(fields[key], `${field}.${key}`, 0)
  })
  checkOptional(trace.feedback, 'trace.feedback', (feedback, field) => {
    checkObject(feedback, field)
    const fields = feedback as Record<string, unknown>
    checkKeys(fields, FEEDBACK_KEYS, field)
    checkOptional(fields.score, `${field}.score`, (score, scoreField) => checkFiniteNumber(score, scoreField))
    checkOptional(fields.label, `${field}.label`, checkString)
    checkOptional(fields.comment, `${field}.comment`, checkString)
  })
  checkOptional(trace.error, 'trace.error', checkString)
  checkOptional(trace.metadata, 'trace.metadata', checkObject)
  return trace as unknown as AxTrace
}

function checkCheckpoint(checkpoint: Record<string, unknown>): AxCheckpoint {
  checkKeys(checkpoint, CHECKPOINT_KEYS, 'checkpoint')
  checkName(checkpoint.name, 'checkpoint.name')
  checkInteger(checkpoint.version, 'checkpoint.version', 1)
  checkDate(checkpoint.createdAt, 'checkpoint.createdAt')
  checkOptional(checkpoint.instruction, 'checkpoint.instruction', checkString)
  checkOptional(checkpoint.examples, 'checkpoint.examples', (examples, field) => {
    if (!Array.isArray(examples)) fail(field, `must be an array of objects, got ${describeValue(examples)}`)
    examples.forEach((example, index) => checkObject(example, `${field}[${index}]`))
  })
  checkOptional(checkpoint.score, 'checkpoint.score', (score, field) => checkFiniteNumber(score, field))
  checkOptional(checkpoint.optimizerType, 'checkpoint.optimizerType', checkString)
  checkOptional(checkpoint.metadata, 'checkpoint.metadata', checkObject)
  return checkpoint as unknown as AxCheckpoint
}

export function checkItem(item: unknown): AxStorageItem {
  if (!isPlainObject(item)) fail('item', `must be an AxTrace or AxCheckpoint object, got ${describeValue(item)}`)
  if (item.type === 'trace') return checkTrace(item)
  if (item.type === 'checkpoint') return checkCheckpoint(item)
  return fail('item.type', `must be "trace" or "checkpoint", got ${describeValue(item.type)}`)
}

const QUERY_KEYS = ['type', 'since', 'until', 'limit', 'offset', 'id', 'version', 'hasFeedback'] as const

/** Returns the query without undefined fields; rejects fields that do not apply to its type. */
export function checkQuery(query: unknown): AxStorageQuery {
  if (!isPlainObject(query)) fail('query', `must be an object such as { type: 'trace' }, got ${describeValue(query)}`)
  checkKeys(query, QUERY_KEYS, 'query')
  const { type } = query
  if (type !== 'trace' && type !== 'checkpoint') fail('query.type', `must be "trace" or "checkpoint", got ${describeValue(type)}`)
  const checked: AxStorageQuery = { type }
  if (query.since !== undefined) checked.since = checkDate(query.since, 'query.since')
  if (query.until !== undefined) checked.until = checkDate(query.until, 'query.until')
  if (query.limit !== undefined) checked.limit = checkInteger(query.limit, 'query.limit', 0)
  if (query.offset !== undefined) checked.offset = checkInteger(query.offset, 'query.offset', 0)
  const onlyFor = (key: 'id' | 'version' | 'hasFeedback', wanted: AxStorageQuery['type']): boolean => {
    if (query[key] === undefined) return false
    if (type !== wanted) fail(`query.${key}`, `applies to ${wanted} queries only, and this query has type "${type}"`)
    return true
  }
  if (onlyFor('id', 'trace')) checked.id = checkId(query.id, 'query.id')
  if (onlyFor('version', 'checkpoint')) checked.version = checkInteger(query.version, 'query.version', 1)
  if (onlyFor('hasFeedback', 'trace')) {
    if (typeof query.hasFeedback !== 'boolean')
      fail('query.hasFeedback', `must be true or false, got ${describeValue(query.hasFeedback)}`)
    checked.hasFeedback = query.hasFeedback
  }
  return checked
}

export function closedError(adapter: string): LearnError {
  return new LearnError(`this ${adapter} storage was closed; create a new one to keep using it`)
}
