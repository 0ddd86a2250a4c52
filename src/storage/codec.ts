import { LearnError } from '../errors.js'
import type { LearnTraceLine } from '../formats/types.generated.js'
import type { CheckpointRow, TraceRow } from './query.js'
import type { AxCheckpoint, AxStorageItem, AxTrace } from './types.js'
import { checkItem, checkName, isPlainObject } from './validate.js'

// How items are stored: as JSON text plus the few fields queries filter on. Every adapter stores
// this same JSON, so every adapter returns the same thing (a Date nested in `input` comes back as
// its ISO string everywhere, not only in the adapters that serialize).

export interface EncodedTrace extends TraceRow {
  json: string
}

export interface EncodedCheckpoint extends CheckpointRow {
  json: string
}

/**
 * A traces.jsonl line from a test run carries `case`, `score` and `reasons` beside the AxTrace
 * fields; AxTrace has no place for them, so they travel as metadata keys of the same names.
 */
const LINE_EXTRAS = {
  case: (value: unknown) => typeof value === 'string',
  score: (value: unknown) => typeof value === 'number' && value >= 0 && value <= 1,
  reasons: (value: unknown) => typeof value === 'string',
} as const
type LineExtra = keyof typeof LINE_EXTRAS
const LINE_EXTRA_KEYS = Object.keys(LINE_EXTRAS) as LineExtra[]

export function toTraceLine(trace: AxTrace): LearnTraceLine {
  const line: LearnTraceLine = {
    type: 'trace',
    id: trace.id,
    name: trace.name,
    input: trace.input,
    output: trace.output,
    startTime: trace.startTime.toISOString(),
    endTime: trace.endTime.toISOString(),
    durationMs: trace.durationMs,
  }
  if (trace.model !== undefined) line.model = trace.model
  if (trace.usage !== undefined) line.usage = trace.usage
  if (trace.feedback !== undefined) line.feedback = trace.feedback
  if (trace.error !== undefined) line.error = trace.error
  if (trace.metadata !== undefined) {
    const rest = { ...trace.metadata }
    let lifted = false
    for (const key of LINE_EXTRA_KEYS) {
      const value = rest[key]
      if (value !== undefined && LINE_EXTRAS[key](value)) {
        Object.assign(line, { [key]: value })
        delete rest[key]
        lifted = true
      }
    }
    if (!lifted || Object.keys(rest).length > 0) line.metadata = rest
  }
  return line
}

export function fromTraceLine(line: LearnTraceLine): AxTrace {
  const trace: AxTrace = {
    type: 'trace',
    id: line.id,
    name: line.name,
    input: line.input,
    output: line.output,
    startTime: new Date(line.startTime),
    endTime: new Date(line.endTime),
    durationMs: line.durationMs,
  }
  if (line.model !== undefined) trace.model = line.model
  if (line.usage !== undefined) trace.usage = line.usage
  if (line.feedback !== undefined) trace.feedback = line.feedback
  if (line.error !== undefined) trace.error = line.error
  const extras = LINE_EXTRA_KEYS.filter((key) => line[key] !== undefined)
  if (line.metadata !== undefined || extras.length > 0) {
    trace.metadata = { ...line.metadata }
    for (const key of extras) trace.metadata[key] = line[key]
  }
  return trace
}

/** JSON.stringify, with a LearnError naming the field that cannot be stored (a BigInt, a cycle). */
function stringify(item: object, kind: string): string {
  try {
    return JSON.stringify(item)
  } catch (error) {
    const field = Object.entries(item).find(([, value]) => {
      try {
        JSON.stringify(value)
        return false
      } catch {
        return true
      }
    })?.[0]
    throw new LearnError(`cannot be stored as JSON: ${(error as Error).message}`, { field: field ? `${kind}.${field}` : kind })
  }
}

export function encodeTrace(trace: AxTrace): EncodedTrace {
  return {
    id: trace.id,
    startMs: trace.startTime.getTime(),
    hasFeedback: trace.feedback !== undefined,
    json: stringify(toTraceLine(trace), 'trace'),
  }
}

/** Stored data is what encodeTrace wrote: its JSON text, or that text parsed (by a database driver). */
export function decodeTrace(stored: string | object): AxTrace {
  return fromTraceLine((typeof stored === 'string' ? JSON.parse(stored) : stored) as LearnTraceLine)
}

type StoredCheckpoint = Omit<AxCheckpoint, 'createdAt'> & { createdAt: string }

export function encodeCheckpoint(checkpoint: AxCheckpoint): EncodedCheckpoint {
  const stored: StoredCheckpoint = { ...checkpoint, createdAt: checkpoint.createdAt.toISOString() }
  return { version: checkpoint.version, createdMs: checkpoint.createdAt.getTime(), json: stringify(stored, 'checkpoint') }
}

export function decodeCheckpoint(stored: string | object): AxCheckpoint {
  const value: unknown = typeof stored === 'string' ? JSON.parse(stored) : stored
  if (!isPlainObject(value) || typeof value.createdAt !== 'string')
    throw new LearnError('a stored checkpoint is not valid JSON of an AxCheckpoint')
  return { ...(value as StoredCheckpoint), createdAt: new Date(value.createdAt) }
}

/** One save, validated and encoded, as the database adapters batch it. */
export type EncodedWrite = { name: string } & ({ type: 'trace'; trace: EncodedTrace } | { type: 'checkpoint'; checkpoint: EncodedCheckpoint })

export function encodeWrite(name: string, item: AxStorageItem): EncodedWrite {
  checkName(name)
  const valid = checkItem(item)
  return valid.type === 'trace'
    ? { name, type: 'trace', trace: encodeTrace(valid) }
    : { name, type: 'checkpoint', checkpoint: encodeCheckpoint(valid) }
}
