import { describe, expect, it } from 'vitest'
import { compactJson } from '../src/formats/compact-json.js'

describe('compactJson', () => {
  it('keeps what fits within the width on one line, and breaks the rest two spaces deep', () => {
    const value = { short: { a: 1, b: [2, 3] }, long: { text: 'x'.repeat(30), more: 'y'.repeat(30) }, list: [[], {}] }
    expect(compactJson(value, 50)).toBe(
      [
        '{',
        '  "short": {"a": 1, "b": [2, 3]},',
        '  "long": {',
        `    "text": "${'x'.repeat(30)}",`,
        `    "more": "${'y'.repeat(30)}"`,
        '  },',
        '  "list": [[], {}]',
        '}',
      ].join('\n'),
    )
  })

  it('counts the key before a value and the comma after it against the width', () => {
    expect(compactJson({ key: [1, 2], z: 0 }, 15)).toBe('{\n  "key": [\n    1,\n    2\n  ],\n  "z": 0\n}')
    expect(compactJson({ key: [1, 2], z: 0 }, 16)).toBe('{\n  "key": [1, 2],\n  "z": 0\n}')
  })

  it('reads back as the same value, leaving out undefined as JSON does', () => {
    const value = { a: [1, 'two', null, true, { b: 'c'.repeat(200) }], d: undefined, e: [undefined] }
    expect(JSON.parse(compactJson(value, 40))).toEqual(JSON.parse(JSON.stringify(value)))
  })
})
