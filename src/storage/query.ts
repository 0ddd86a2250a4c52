import type { AxStorageQuery } from './types.js'

// The in-process half of the query semantics (memory and files adapters). The SQL adapters say the
// same thing in SQL; the conformance suite checks that they agree.

export interface TraceRow {
  id: string
  startMs: number
  hasFeedback: boolean
}

export interface CheckpointRow {
  version: number
  createdMs: number
}

/**
 * Orders strings by Unicode code point, which is what SQLite (BINARY on UTF-8) and Postgres
 * (COLLATE "C" on UTF-8) do; plain `<` compares UTF-16 code units, which differs above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index)
    const y = b.charCodeAt(index)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/** Moves surrogates (U+D800–U+DFFF) above U+E000–U+FFFF, so code units compare like code points. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800
  if (unit >= 0xd800) return unit + 0x2000
  return unit
}

function page<T>(rows: T[], query: AxStorageQuery): T[] {
  const start = query.offset ?? 0
  return rows.slice(start, query.limit === undefined ? undefined : start + query.limit)
}

function within(time: number, query: AxStorageQuery): boolean {
  return (
    (query.since === undefined || time >= query.since.getTime()) && (query.until === undefined || time <= query.until.getTime())
  )
}

/** Newest first by start time, ties by id; then offset and limit. */
export function selectTraces<R extends TraceRow>(rows: Iterable<R>, query: AxStorageQuery): R[] {
  const kept: R[] = []
  for (const row of rows) {
    if (!within(row.startMs, query)) continue
    if (query.id !== undefined && row.id !== query.id) continue
    if (query.hasFeedback !== undefined && row.hasFeedback !== query.hasFeedback) continue
    kept.push(row)
  }
  kept.sort((a, b) => b.startMs - a.startMs || compareCodePoints(a.id, b.id))
  return page(kept, query)
}

/** Highest version first; then offset and limit. */
export function selectCheckpoints<R extends CheckpointRow>(rows: Iterable<R>, query: AxStorageQuery): R[] {
  const kept: R[] = []
  for (const row of rows) {
    if (!within(row.createdMs, query)) continue
    if (query.version !== undefined && row.version !== query.version) continue
    kept.push(row)
  }
  kept.sort((a, b) => b.version - a.version)
  return page(kept, query)
}
