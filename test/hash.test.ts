import { describe, expect, it } from 'vitest'
import { hashOf, stableStringify } from '../src/hash.js'

/** The definition: JSON.stringify with a replacer that sorts every object's keys. */
const reference = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item
    return Object.fromEntries(Object.keys(item).sort().map((key) => [key, (item as Record<string, unknown>)[key]]))
  })

const values: [string, unknown][] = [
  ['primitives', [0, -1.5, 1e21, NaN, Infinity, true, false, null, '', 'a "quoted"\n\u2028 line', '😀']],
  ['nested objects, keys out of order', { b: { d: 1, c: [2, { z: 1, a: 2 }] }, a: 'x', B: null }],
  ['undefined, functions and symbols', { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1, Symbol('s')], e: 1 }],
  ['toJSON and dates', { when: new Date(Date.UTC(2026, 0, 2)), custom: { toJSON: (key: string) => `custom:${key}` }, list: [{ toJSON: () => undefined }] }],
  ['boxed primitives, maps and sets', { n: Object(1) as unknown, s: Object('s') as unknown, map: new Map([[1, 2]]), set: new Set([1]) }],
  ['keys that are array indices (JSON writes them first, by number)', { b: 1, '10': 2, '9': 3, '1a': 4, '01': 5, '4294967295': 6, '4294967294': 7 }],
  ['array-index keys beside keys that sort before digits ($ref, -x, .y)', { $ref: 1, '10': 2, '9': 3, '-x': 4, '.y': 5, a: 6 }],
  ['empty containers', { a: {}, b: [], c: [[]], d: [{}] }],
  ['a chat request', { chatPrompt: [{ role: 'system', content: 'Reply.\n<task>', cache: false }, { role: 'user', content: 'Hi' }], modelConfig: { temperature: 0, stream: undefined }, functions: [] }],
]

describe('stableStringify', () => {
  it.each(values)('writes %s as JSON.stringify with sorted keys does', (_what, value) => {
    expect(stableStringify(value)).toBe(reference(value))
  })

  it('gives equal hashes to equal values, whatever their key order', () => {
    expect(hashOf({ a: 1, b: [{ c: 2, d: 3 }] })).toBe(hashOf({ b: [{ d: 3, c: 2 }], a: 1 }))
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }))
  })
})
