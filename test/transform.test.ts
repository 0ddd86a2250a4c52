import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseSync } from 'vite'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { lineSourceMap, type LineSourceMap } from '../plugin/source-map.js'
import { transformSpec } from '../plugin/transform.js'

const runtimeModule = '/virtual/vitest-learn/runtime.js'
const specId = '/project/support.learn.ts'

// --- a tiny source map reader: base64 VLQ, enough for line mappings -------------------------------

const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function decodeVlq(segment: string): number[] {
  const values: number[] = []
  let value = 0
  let shift = 0
  for (const char of segment) {
    const digit = base64.indexOf(char)
    if (digit < 0) throw new Error(`not base64: ${char}`)
    value += (digit & 31) << shift
    if (digit & 32) {
      shift += 5
      continue
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1)
    value = 0
    shift = 0
  }
  return values
}

/** For each generated line (0-based), the original line (0-based) its first segment maps to. */
function originalLines(map: LineSourceMap): (number | undefined)[] {
  let sourceLine = 0
  return map.mappings.split(';').map((line) => {
    let first: number | undefined
    for (const segment of line.split(',').filter(Boolean)) {
      const [, , lineDelta = 0] = decodeVlq(segment)
      sourceLine += lineDelta
      first ??= sourceLine
    }
    return first
  })
}

// --- helpers ------------------------------------------------------------------------------------

const transform = (code: string, id = specId) => transformSpec(code, id, runtimeModule)

/** 1-based number of the first line of `code` that contains `text`. */
function lineOf(code: string, text: string): number {
  const index = code.split('\n').findIndex((line) => line.includes(text))
  if (index < 0) throw new Error(`no line contains ${text}`)
  return index + 1
}

/** The 1-based line of the original that the generated line `text` maps to. */
function mappedLineOf(result: ReturnType<typeof transform>, text: string): number | undefined {
  const line = originalLines(result.map)[lineOf(result.code, text) - 1]
  return line === undefined ? undefined : line + 1
}

/** A generated line without the location argument the transform gives each call. */
const withoutLocation = (line: string) => line.replace(/, \{ line: \d+, column: \d+ \}\)/, ')')
const generatedCalls = (code: string, name: string) =>
  code.split('\n').filter((line) => line.startsWith(`__learnSuite.${name}(`)).map(withoutLocation)

function expectParses(code: string, filename = 'support.learn.ts'): void {
  expect(parseSync(filename, code).errors).toEqual([])
}

const spec = (cases: string, before = '') => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'
${before}
export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: ${cases},
  judge: 'Polite and helpful.',
})
`

const threeCases = `[
    { input: { customer_query: 'Where is my order?' } },
    {
      id: 'lamp',
      input: { customer_query: 'The lamp arrived broken.' },
      criteria: 'apologizes',
    },
    { input: { customer_query: 'Cancel my order' } },
  ]`

// --- tests --------------------------------------------------------------------------------------

describe('transformSpec output', () => {
  const code = spec(threeCases)
  const result = transform(code)
  const original = code.split('\n')
  const generated = result.code.split('\n')

  it('imports the runtime module after the original code, so no original line moves', () => {
    expect(generated[original.length]).toBe(`import * as __learnRuntime from ${JSON.stringify(runtimeModule)};`)
  })

  it('keeps every original line at its number, changing only the export', () => {
    const changed = original.flatMap((line, index) => (generated[index] === line ? [] : [index + 1]))
    expect(changed).toEqual([lineOf(code, 'export default'), lineOf(code, 'judge:') + 1])
    original.forEach((line, index) => expect(generated[index]).toContain(line.replace('export default ', '')))
  })

  it('maps every original line to itself', () => {
    const lines = originalLines(result.map)
    original.forEach((_line, index) => expect(lines[index]).toBe(index))
  })

  it('keeps the spec as the default export, evaluated inside capture()', () => {
    expect(result.code).toContain('const __learnSpec = __learnRuntime.capture(() => (defineLearn({')
    expect(result.code).toContain('\nexport default __learnSpec;\n')
    expect(result.code).toContain(`__learnRuntime.register(__learnSpec, ${JSON.stringify(specId)}, `)
  })

  it('appends one test per case, in order, then the remaining cases and the gate', () => {
    const calls = generated.filter((line) => line.startsWith('__learnSuite.')).map(withoutLocation)
    expect(calls).toEqual([
      '__learnSuite.describe(() => {',
      '__learnSuite.test(0);',
      '__learnSuite.test(1);',
      '__learnSuite.test(2);',
      '__learnSuite.remainingTests(3);',
      '__learnSuite.gate();',
    ])
  })

  it.each([
    [0, "{ input: { customer_query: 'Where is my order?' } }"],
    [1, "id: 'lamp'"],
    [2, "{ input: { customer_query: 'Cancel my order' } }"],
  ])('maps test(%i) to the first line of its case', (index, text) => {
    const caseLine = text.startsWith('id:') ? lineOf(code, text) - 1 : lineOf(code, text)
    expect(mappedLineOf(result, `__learnSuite.test(${index},`)).toBe(caseLine)
  })

  it.each([
    [0, "{ input: { customer_query: 'Where is my order?' } }"],
    [2, "{ input: { customer_query: 'Cancel my order' } }"],
  ])('gives test(%i) the line and column of its case as its location', (index, text) => {
    const line = lineOf(code, text)
    const column = code.split('\n')[line - 1]!.indexOf(text) + 1
    expect(generatedLine(`__learnSuite.test(${index},`)).toBe(`__learnSuite.test(${index}, { line: ${line}, column: ${column} });`)
  })

  it('gives the spec (suite and gate) the export default line, and remaining cases the cases line', () => {
    expect(generatedLine('__learnRuntime.register(')).toContain(`, { line: ${lineOf(code, 'export default')}, column: 1 });`)
    const cases = lineOf(code, 'cases:')
    expect(generatedLine('__learnSuite.remainingTests(')).toBe(
      `__learnSuite.remainingTests(3, { line: ${cases}, column: ${code.split('\n')[cases - 1]!.indexOf('cases:') + 1} });`,
    )
  })

  const generatedLine = (start: string) => generated.find((line) => line.includes(start))

  it('maps the export, register and gate lines to the export default line', () => {
    const exportLine = lineOf(code, 'export default')
    for (const text of ['export default __learnSpec;', '__learnRuntime.register(', '__learnSuite.gate();'])
      expect(mappedLineOf(result, text)).toBe(exportLine)
  })

  it('maps remainingTests to the cases property', () => {
    expect(mappedLineOf(result, '__learnSuite.remainingTests(')).toBe(lineOf(code, 'cases:'))
  })

  it('has one mapping per generated line', () => {
    expect(result.map.mappings.split(';')).toHaveLength(generated.length - 1)
    expect(generated.at(-1)).toBe('')
  })

  it('names the spec file and carries its source', () => {
    expect(result.map).toMatchObject({ version: 3, sources: [specId], sourcesContent: [code], names: [] })
  })

  it('parses', () => {
    expectParses(result.code)
  })
})

describe('cases that cannot be located statically', () => {
  it('stops at a spread: cases after it run through remainingTests', () => {
    const code = spec(`[
    { input: { customer_query: 'a' } },
    ...moreCases,
    { input: { customer_query: 'b' } },
  ]`, 'const moreCases = [{ input: { customer_query: "c" } }]')
    const result = transform(code)
    expect(generatedCalls(result.code, 'test')).toEqual(['__learnSuite.test(0);'])
    expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(1);'])
    expect(mappedLineOf(result, '__learnSuite.test(0,')).toBe(lineOf(code, "customer_query: 'a'"))
    expectParses(result.code)
  })

  it('runs cases held in a variable through remainingTests, mapped to the cases property', () => {
    const code = spec('supportCases', "const supportCases = [{ input: { customer_query: 'a' } }]")
    const result = transform(code)
    expect(generatedCalls(result.code, 'test')).toEqual([])
    expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(0);'])
    expect(mappedLineOf(result, '__learnSuite.remainingTests(')).toBe(lineOf(code, 'cases: supportCases'))
  })

  it('runs every case through remainingTests when the default export is a variable', () => {
    const code = `import { defineLearn } from 'vitest-learn'
const spec = defineLearn({ name: 'support', cases: [{ input: { q: 'a' } }] })

export default spec
`
    const result = transform(code)
    expect(generatedCalls(result.code, 'test')).toEqual([])
    expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(0);'])
    expect(mappedLineOf(result, '__learnSuite.remainingTests(')).toBe(lineOf(code, 'export default'))
    expect(result.code).toContain('const __learnSpec = __learnRuntime.capture(() => (spec))')
    expectParses(result.code)
  })

  it("finds cases under a quoted 'cases' key and beside a spread of shared options", () => {
    const code = spec(threeCases).replace("  name: 'support',", "  ...shared,\n  name: 'support',").replace('cases:', "'cases':")
    const result = transform(`const shared = {}\n${code}`)
    expect(generatedCalls(result.code, 'test')).toHaveLength(3)
  })
})

describe('files that are not a plain spec', () => {
  it('registers nothing when there is no export default, and keeps the code as it is', () => {
    const code = "import { ax } from '@ax-llm/ax'\nexport const program = ax('q:string -> a:string')\n"
    const result = transform(code)
    expect(result.code).toContain(code.split('\n')[1])
    expect(result.code).toContain(`__learnRuntime.register(undefined, ${JSON.stringify(specId)}, `)
    expect(result.code).not.toContain('__learnSpec')
    expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(0);'])
    expectParses(result.code)
  })

  it('leaves a default-exported function declaration alone', () => {
    const code = 'export default function spec() {\n  return 1\n}\n'
    const result = transform(code)
    expect(result.code).toContain(`${code.split('\n')[0]}`)
    expect(result.code).toContain('__learnRuntime.register(undefined,')
    expectParses(result.code)
  })
})

describe('TypeScript input', () => {
  it('parses with type annotations, generics, `as const` and `satisfies`', () => {
    const code = `import { ax, type AxGen } from '@ax-llm/ax'
import { defineLearn, type LearnCase } from 'vitest-learn'

interface Query { customer_query: string }
const program: AxGen<Query, { polite_reply: string }> = ax('customer_query:string -> polite_reply:string')
const levels = ['low', 'high'] as const
const extra: LearnCase<Query, { polite_reply: string }>[] = []

export default defineLearn<Query, { polite_reply: string }>({
  name: 'support',
  program,
  instruction: \`Reply politely (\${levels.join(', ')}).\`,
  cases: [
    { input: { customer_query: 'a' } as Query },
    { input: { customer_query: 'b' } } satisfies LearnCase<Query, { polite_reply: string }>,
    { input: { customer_query: 'c' } as const },
    ...extra,
  ],
  metric: ({ prediction }: { prediction: { polite_reply: string } }): number => (prediction.polite_reply ? 1 : 0),
})
`
    const result = transform(code)
    expectParses(result.code)
    expect(generatedCalls(result.code, 'test')).toHaveLength(3)
    expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(3);'])
    expect(mappedLineOf(result, '__learnSuite.test(1,')).toBe(lineOf(code, "customer_query: 'b'"))
  })

  it('parses when the whole spec is `as const`', () => {
    expectParses(transform(spec(threeCases).replace("judge: 'Polite and helpful.',\n})", "judge: 'Polite and helpful.',\n} as const)")).code)
  })

  // BUG (plugin/transform.ts findShape, `const spec = expression.type === 'CallExpression' ? ...`):
  // the spec object is only looked for as the call's first argument or the export itself, with no
  // unwrapping of parentheses, `as` or `satisfies`. These static cases then get no test of their own
  // and their locations fall back to the `cases:` line, as if they were dynamic.
  it.each([
    ['defineLearn({ ... } as const)', (code: string) => code.replace("judge: 'Polite and helpful.',\n})", "judge: 'Polite and helpful.',\n} as const)")],
    ['defineLearn({ ... }) satisfies X', (code: string) => code.replace("judge: 'Polite and helpful.',\n})", "judge: 'Polite and helpful.',\n}) satisfies object")],
    ['(defineLearn({ ... }))', (code: string) => code.replace('export default defineLearn({', 'export default (defineLearn({').replace("judge: 'Polite and helpful.',\n})", "judge: 'Polite and helpful.',\n}))")],
  ])('locates the cases of `export default %s`', (_form, rewrite) => {
    const result = transform(rewrite(spec(threeCases)))
    expectParses(result.code)
    expect(generatedCalls(result.code, 'test')).toHaveLength(3)
  })

  it('locates cases after non-ASCII text (offsets are characters, not bytes)', () => {
    const code = spec(threeCases, "// Spécification — réponses polies 🙏\nconst greeting = 'Grüß Gott — 👋'")
      .replace('Reply politely.', 'Répondez poliment — merci 🙏')
    const result = transform(code)
    expectParses(result.code)
    expect(result.code).toContain("const __learnSpec = __learnRuntime.capture(() => (defineLearn({\n  name: 'support',")
    expect(mappedLineOf(result, '__learnSuite.test(2,')).toBe(lineOf(code, "customer_query: 'Cancel my order'"))
  })
})

describe('the transformed module', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitest-learn-transform-'))
    await writeFile(
      join(dir, 'runtime.mjs'),
      `export const calls = []
export function capture(define) {
  try { return define() } catch (error) { calls.push(['capture failed', error.message]); return { failed: error.message } }
}
export function register(spec, file) {
  calls.push(['register', spec, file])
  return {
    describe(body) { calls.push(['describe']); body() },
    test(index) { calls.push(['test', index]) },
    remainingTests(from) { calls.push(['remainingTests', from]) },
    gate() { calls.push(['gate']) },
  }
}
`,
    )
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** Transforms plain JS `code`, imports it against a recording runtime, and returns what it did. */
  async function load(name: string, code: string) {
    const runtime = join(dir, 'runtime.mjs')
    const file = join(dir, `${name}.learn.mjs`)
    await writeFile(file, transformSpec(code, file, pathToFileURL(runtime).href).code)
    const module = (await import(pathToFileURL(file).href)) as { default: unknown }
    const { calls } = (await import(pathToFileURL(runtime).href)) as { calls: unknown[][] }
    return { module, file, calls: calls.splice(0) }
  }

  it('registers the spec and runs one test per case, then the rest and the gate', async () => {
    const { module, file, calls } = await load(
      'runs',
      `const defineLearn = (spec) => ({ ...spec, kind: 'spec' })
export default defineLearn({
  name: 'support',
  cases: [{ input: { q: 'a' } }, { input: { q: 'b' } }],
})
`,
    )
    const spec = { name: 'support', cases: [{ input: { q: 'a' } }, { input: { q: 'b' } }], kind: 'spec' }
    expect(module.default).toEqual(spec)
    expect(calls).toEqual([['register', spec, file], ['describe'], ['test', 0], ['test', 1], ['remainingTests', 2], ['gate']])
  })

  it('still loads, and reports through capture(), when the spec throws', async () => {
    const { module, calls } = await load(
      'throws',
      `const defineLearn = () => { throw new Error('name: must be a non-empty string') }
export default defineLearn({ name: '', cases: [{ input: {} }] })
`,
    )
    expect(module.default).toEqual({ failed: 'name: must be a non-empty string' })
    expect(calls[0]).toEqual(['capture failed', 'name: must be a non-empty string'])
    expect(calls.filter(([kind]) => kind === 'test')).toEqual([['test', 0]])
  })
})

describe('without a TypeScript-capable parser (older Vite)', () => {
  it('falls back to the text of `export default`, keeping lines and running every case through remainingTests', async () => {
    vi.resetModules()
    vi.doMock('vite', () => ({ parseSync: undefined }))
    try {
      const { transformSpec: transformWithoutParser } = await import('../plugin/transform.js')
      const code = spec(threeCases)
      const result = transformWithoutParser(code, specId, runtimeModule)
      expect(result.code).toContain('const __learnSpec = defineLearn({')
      expect(generatedCalls(result.code, 'test')).toEqual([])
      expect(generatedCalls(result.code, 'remainingTests')).toEqual(['__learnSuite.remainingTests(0);'])
      expect(result.code.split('\n')[lineOf(code, 'judge:') - 1]).toBe(code.split('\n')[lineOf(code, 'judge:') - 1])
      expectParses(result.code)
    } finally {
      vi.doUnmock('vite')
      vi.resetModules()
    }
  })
})

describe('lineSourceMap', () => {
  it('round-trips line numbers, including jumps back and far ahead', () => {
    const lines = [0, 5, 2, 40, 0, 1000, 3]
    expect(originalLines(lineSourceMap('a.ts', 'x', lines))).toEqual(lines)
  })

  it('maps every line from column 0 of source 0', () => {
    const map = lineSourceMap('a.ts', 'x', [0, 1])
    for (const line of map.mappings.split(';')) expect(decodeVlq(line).slice(0, 2).concat(decodeVlq(line)[3]!)).toEqual([0, 0, 0])
  })
})
