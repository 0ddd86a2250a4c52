import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LearnProvided } from '../plugin/context.js'
import { nameClash } from '../plugin/name-clash.js'
import { literalSpecName } from '../plugin/transform.js'

const specWithName = (name: string, before = '') => `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'
${before}
export default defineLearn({
  name: ${name},
  program: ax('question:string -> answer:string'),
  instruction: 'Answer.',
  cases: [{ input: { question: 'hi' } }],
  metric: () => 1,
})
`

describe('literalSpecName: the name a spec file declares, read without running it', () => {
  it.each([
    ["'support'", 'support'],
    ['"support-v2"', 'support-v2'],
    ['`support.v3`', 'support.v3'],
    ["'support' as const", 'support'],
  ])('reads %s', (literal, name) => {
    expect(literalSpecName(specWithName(literal), '/p/a.learn.ts')).toBe(name)
  })

  it.each([
    ['a variable', 'base', "const base = 'support'"],
    ['a template with substitutions', '`support-${1}`', ''],
    ['a concatenation', "'sup' + 'port'", ''],
  ])('gives up on %s: the name is computed', (_kind, expression, before) => {
    expect(literalSpecName(specWithName(expression, before), '/p/a.learn.ts')).toBeUndefined()
  })

  it('gives up when a spread after the name may override it, and reads a name after a spread', () => {
    const shared = "const shared = { name: 'other' }"
    expect(literalSpecName(specWithName("'support',\n  ...shared", shared), '/p/a.learn.ts')).toBeUndefined()
    expect(literalSpecName(specWithName("'support'", shared).replace('defineLearn({', 'defineLearn({\n  ...shared,'), '/p/a.learn.ts')).toBe('support')
  })

  it('reads a name in a spec object that is not wrapped in defineLearn', () => {
    expect(literalSpecName("export default { name: 'plain', cases: [] }\n", '/p/a.learn.ts')).toBe('plain')
  })
})

describe('nameClash: two spec files with one name', () => {
  let claimsDir: string
  const provided = (specNames: LearnProvided['specNames'], claims?: string): LearnProvided => ({
    root: '/project',
    snapshotDir: '/project/snapshots',
    models: {},
    optimize: false,
    accept: false,
    failOnInconclusive: false,
    scoreAnnotations: false,
    optimizeSettings: {},
    caseTimeoutMs: 120_000,
    cacheDir: '/project/node_modules/.cache/vitest-learn',
    specNames,
    ...(claims ? { claimsDir: claims } : {}),
  })
  beforeEach(async () => {
    claimsDir = await mkdtemp(join(tmpdir(), 'learn-claims-test-'))
  })
  afterEach(() => rm(claimsDir, { recursive: true, force: true }))

  it('fails each file whose literal name another file declares, naming both files', () => {
    const names = { '/project/a.learn.ts': 'support', '/project/sub/b.learn.ts': 'support', '/project/c.learn.ts': 'other' }
    const a = nameClash('support', '/project/a.learn.ts', provided(names, claimsDir))
    const b = nameClash('support', '/project/sub/b.learn.ts', provided(names, claimsDir))
    expect(a?.message).toMatch(/^a\.learn\.ts › name: the spec name "support" is used by a\.learn\.ts and sub\/b\.learn\.ts; they would share snapshots\/support\//)
    expect(b?.message).toContain('is used by sub/b.learn.ts and a.learn.ts')
    expect(a?.fix).toBe('give each of a.learn.ts, sub/b.learn.ts a name of its own')
    expect(nameClash('other', '/project/c.learn.ts', provided(names, claimsDir))).toBeUndefined()
  })

  it('catches a computed name that equals another file’s literal one', () => {
    const names = { '/project/a.learn.ts': 'support', '/project/b.learn.ts': null }
    expect(nameClash('support', '/project/b.learn.ts', provided(names, claimsDir))?.message).toContain('is used by b.learn.ts and a.learn.ts')
  })

  it('lets the first of two computed names claim it, and fails the second, naming the first', async () => {
    const names = { '/project/a.learn.ts': null, '/project/b.learn.ts': null }
    expect(nameClash('support', '/project/a.learn.ts', provided(names, claimsDir))).toBeUndefined()
    // The same file again (a re-run in the same worker) keeps its claim.
    expect(nameClash('support', '/project/a.learn.ts', provided(names, claimsDir))).toBeUndefined()
    const second = nameClash('support', '/project/b.learn.ts', provided(names, claimsDir))
    expect(second?.message).toContain('the spec name "support" is also used by a.learn.ts, which claimed it first in this run')
    expect(second?.field).toBe('name')
    expect(await readdir(claimsDir)).toEqual(['support'])
  })
})
