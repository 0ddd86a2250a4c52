import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fg from 'fast-glob'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LearnError } from '../src/errors.js'
import { readJsonFile, readJsonLines, toPrettyJson, writeFileAtomic } from '../src/formats/files.js'
import type { LearnTape, LearnTraceLine } from '../src/formats/types.generated.js'
import { assertFormat, type FormatKind } from '../src/formats/validate.js'

const root = fileURLToPath(new URL('..', import.meta.url))

interface GenTypesScript {
  generateTypes(): Promise<string>
  generateValidators(): Promise<string>
  outputFile: string
  validatorsFile: string
}
const loadGenTypes = async () => (await import(new URL('../scripts/gen-types.mjs', import.meta.url).href)) as GenTypesScript

const tapeEntry = (key = `${'0'.repeat(16)}#0`) => ({
  key,
  case: 'order',
  role: 'student',
  request: { provider: 'openai', model: 'gpt-4o-mini', modelConfig: {}, messages: [], functions: [], stream: false },
  response: { kind: 'chat', chat: { results: [{ index: 0, content: 'answer: 42' }] } },
  latencyMs: 12,
})
const tape = (...entries: object[]) => ({ format: 1, spec: 'support', entries })

const traceLine = (id = 'order'): LearnTraceLine => ({
  type: 'trace',
  id,
  name: 'support',
  input: { customer_query: 'Where is my order?' },
  output: { polite_reply: 'It ships today.' },
  startTime: '2026-01-01T00:00:00.000Z',
  endTime: '2026-01-01T00:00:01.000Z',
  durationMs: 1000,
  score: 0.9,
})

const checkpoint = () => ({
  format: 1,
  name: 'support',
  version: 1,
  parent: null,
  created: '2026-01-01T00:00:00.000Z',
  program: { instruction: 'Reply politely.' },
})

/** The LearnError `run` throws (sync or async); fails the test when it throws none. */
async function learnErrorOf(run: () => unknown): Promise<LearnError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(LearnError)
    return error as LearnError
  }
  throw new Error('expected a LearnError, nothing was thrown')
}

const formatErrorOf = (kind: FormatKind, value: unknown, file = 'snapshots/support/tape.json') =>
  learnErrorOf(() => assertFormat(kind, value, file, 'fix or delete the file'))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vitest-learn-formats-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('generated types and validators', () => {
  it('src/formats/types.generated.ts matches what the schemas generate', async () => {
    const { generateTypes, outputFile } = await loadGenTypes()
    expect(outputFile).toBe(join(root, 'src/formats/types.generated.ts'))
    const current = await readFile(outputFile, 'utf8')
    expect(current, 'src/formats/types.generated.ts is stale: run `npm run gen:types` and commit the result').toBe(
      await generateTypes(),
    )
  })

  it('src/formats/validators.generated.ts matches what the schemas compile to', async () => {
    const { generateValidators, validatorsFile } = await loadGenTypes()
    expect(validatorsFile).toBe(join(root, 'src/formats/validators.generated.ts'))
    const current = await readFile(validatorsFile, 'utf8')
    expect(current === (await generateValidators()), 'src/formats/validators.generated.ts is stale: run `npm run gen:types` and commit the result').toBe(true)
  })

  it('declares LearnUsage once, although three schemas refer to it', async () => {
    const { generateTypes } = await loadGenTypes()
    expect((await generateTypes()).match(/export interface LearnUsage \{/g)).toHaveLength(1)
  })
})

describe('assertFormat', () => {
  it.each<[FormatKind, unknown]>([
    ['tape', tape(tapeEntry(), { ...tapeEntry(`${'f'.repeat(16)}#3`), response: { kind: 'stream', chunks: [{}] } })],
    ['trace', traceLine()],
    ['checkpoint', checkpoint()],
  ])('accepts a valid %s', (kind, value) => {
    expect(() => assertFormat(kind, value, 'file.json', 'fix')).not.toThrow()
  })

  it('names the file and the field path of an entry with a bad key', async () => {
    const error = await formatErrorOf('tape', tape(tapeEntry(), tapeEntry('not-a-key')))
    expect(error.file).toBe('snapshots/support/tape.json')
    expect(error.field).toBe('entries[1].key')
    expect(error.message).toMatch(/^snapshots\/support\/tape\.json › entries\[1\]\.key: must match pattern/)
  })

  it('names nested field paths with dots', async () => {
    const error = await formatErrorOf('tape', tape({ ...tapeEntry(), request: { ...tapeEntry().request, stream: 'yes' } }))
    expect(error.field).toBe('entries[0].request.stream')
    expect(error.message).toContain('must be boolean')
  })

  it('names a missing required property at the root as (root)', async () => {
    const error = await formatErrorOf('tape', { format: 1, entries: [] })
    expect(error.field).toBe('(root)')
    expect(error.message).toContain("must have required property 'spec'")
  })

  it('names an unknown property', async () => {
    const error = await formatErrorOf('tape', { ...tape(), comment: 'hi' })
    expect(error.message).toContain('must NOT have additional properties (comment)')
  })

  it('lists the allowed values of an enum', async () => {
    const error = await formatErrorOf('tape', tape({ ...tapeEntry(), role: 'critic' }))
    expect(error.field).toBe('entries[0].role')
    expect(error.message).toContain('["student","judge","teacher"]')
  })

  it('lists further problems after the first', async () => {
    const error = await formatErrorOf('tape', tape({ ...tapeEntry('bad'), latencyMs: -1 }))
    expect(error.message).toMatch(/\n {2}also: entries\[0\]\.latencyMs must be >= 0/)
  })

  it('says the file was left untouched, and how to fix it', async () => {
    const error = await formatErrorOf('checkpoint', { ...checkpoint(), version: 0 })
    expect(error.field).toBe('version')
    expect(error.message).toContain('not a valid checkpoint file and it was left untouched')
    expect(error.fix).toBe('fix or delete the file')
  })

  it('checks date-time fields', async () => {
    const error = await formatErrorOf('trace', { ...traceLine(), startTime: 'yesterday' })
    expect(error.field).toBe('startTime')
  })

  it('rejects token counts that are not whole numbers, through the shared usage schema', async () => {
    const usage = { promptTokens: 1.5, completionTokens: 0, totalTokens: 1.5 }
    const error = await formatErrorOf('trace', { ...traceLine(), usage })
    expect(error.field).toBe('usage.promptTokens')
  })
})

describe('readJsonFile', () => {
  it('returns undefined for a file that does not exist', async () => {
    expect(await readJsonFile(join(dir, 'tape.json'), 'tape', 'fix')).toBeUndefined()
  })

  it('reads a valid file', async () => {
    const file = join(dir, 'tape.json')
    await writeFile(file, toPrettyJson(tape(tapeEntry())))
    const value: LearnTape | undefined = await readJsonFile(file, 'tape', 'fix')
    expect(value?.entries).toHaveLength(1)
  })

  it('names the file that is not valid JSON', async () => {
    const file = join(dir, 'tape.json')
    await writeFile(file, '{ "format": 1,')
    const error = await learnErrorOf(() => readJsonFile(file, 'tape', 'delete it'))
    expect(error.file).toBe(file)
    expect(error.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is not valid JSON`))
    expect(error.message).toContain('fix: delete it')
  })
})

describe('readJsonLines', () => {
  const file = () => join(dir, 'traces.jsonl')
  const lines = (...items: (object | string)[]) => `${items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join('\n')}\n`

  it('returns an empty list for a file that does not exist', async () => {
    expect(await readJsonLines(file(), 'trace', 'fix')).toEqual([])
  })

  it('reads every line and skips blank ones', async () => {
    await writeFile(file(), lines(traceLine('a'), '', traceLine('b')))
    expect((await readJsonLines(file(), 'trace', 'fix')).map((line) => line.id)).toEqual(['a', 'b'])
  })

  it('names file:line of a line that is not JSON', async () => {
    await writeFile(file(), lines(traceLine('a'), '', '{"type": "trace",'))
    const error = await learnErrorOf(() => readJsonLines(file(), 'trace', 'fix'))
    expect(error.file).toBe(`${file()}:3`)
    expect(error.message).toContain(`${file()}:3: is not valid JSON`)
  })

  it('names file:line and the field of a line that fails the schema', async () => {
    await writeFile(file(), lines(traceLine('a'), { ...traceLine('b'), score: 2 }))
    const error = await learnErrorOf(() => readJsonLines(file(), 'trace', 'fix'))
    expect(error.file).toBe(`${file()}:2`)
    expect(error.field).toBe('score')
    expect(error.message).toContain(`${file()}:2 › score: must be <= 1`)
  })
})

describe('writeFileAtomic', () => {
  const listing = (folder = dir) => readdir(folder)

  it('writes the text, creating missing folders', async () => {
    const file = join(dir, 'snapshots', 'support', 'tape.json')
    await writeFileAtomic(file, 'hello\n')
    expect(await readFile(file, 'utf8')).toBe('hello\n')
  })

  it('leaves no temporary file behind', async () => {
    const file = join(dir, 'tape.json')
    await writeFileAtomic(file, 'one')
    await writeFileAtomic(file, 'two')
    expect(await listing()).toEqual(['tape.json'])
    expect(await readFile(file, 'utf8')).toBe('two')
  })

  it('removes its temporary file when the rename fails, and throws', async () => {
    const target = join(dir, 'tape.json')
    await mkdir(join(target, 'occupied'), { recursive: true })
    await expect(writeFileAtomic(target, 'text')).rejects.toThrow()
    expect(await listing()).toEqual(['tape.json'])
    expect(await listing(target)).toEqual(['occupied'])
  })

  it('never lets a reader see a partial file', async () => {
    const file = join(dir, 'tape.json')
    const versions = ['a', 'b'].map((letter) => `${letter.repeat(4 * 1024 * 1024)}\n`)
    await writeFileAtomic(file, versions[0]!)
    const seen = new Set<string>()
    let writing = true
    const reader = (async () => {
      while (writing) {
        const text = await readFile(file, 'utf8')
        seen.add(text === versions[0] ? 'a' : text === versions[1] ? 'b' : `partial (${text.length} characters)`)
      }
    })()
    for (let round = 0; round < 12; round++) await writeFileAtomic(file, versions[(round + 1) % 2]!)
    writing = false
    await reader
    expect([...seen].filter((kind) => kind !== 'a' && kind !== 'b')).toEqual([])
  })
})

describe('toPrettyJson', () => {
  it('indents by two spaces and ends with a newline', () => {
    expect(toPrettyJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}\n')
  })
})

describe('committed snapshots', () => {
  it('validate against their schemas', async () => {
    const kinds = { 'tape.json': 'tape', 'checkpoint.json': 'checkpoint', 'synthetic.json': 'synthetic' } as const
    const files = await fg(['snapshots/*/*.json', 'snapshots/*/checkpoints/*.json', 'snapshots/*/traces.jsonl'], { cwd: root })
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      const path = join(root, file)
      const name = file.split('/').pop()!
      if (name === 'traces.jsonl') await readJsonLines(path, 'trace', 'fix')
      else await readJsonFile(path, file.includes('/checkpoints/') ? 'checkpoint' : kinds[name as keyof typeof kinds], 'fix')
    }
  })
})
