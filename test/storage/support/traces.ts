import type { AxCheckpoint, AxTrace } from '../../../src/storage/index.js'

// Plain builders, free of Vitest, so child processes and the bench can use them too.

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0, 0)
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs)

export function makeTrace(id: string, fields: Partial<AxTrace> = {}): AxTrace {
  const startTime = fields.startTime ?? at(0)
  return {
    type: 'trace',
    id,
    name: 'support-chat',
    input: { customer_query: `query ${id}` },
    output: { polite_reply: `reply ${id}` },
    startTime,
    endTime: startTime instanceof Date ? new Date(startTime.getTime() + 250) : at(250),
    durationMs: 250,
    ...fields,
  }
}

export function makeCheckpoint(version: number, fields: Partial<AxCheckpoint> = {}): AxCheckpoint {
  return { type: 'checkpoint', name: 'support-chat', version, createdAt: at(version * 1000), ...fields }
}
