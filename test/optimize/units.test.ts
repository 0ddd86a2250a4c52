import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AxMockAIService, type AxChatRequest } from '@ax-llm/ax'
import { describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import {
  feedbackKind,
  readSynthetic,
  scoreProgram,
  specHash,
  splitCases,
  traceCases,
  unifiedDiff,
  type OptimizeCase,
} from '../../src/optimize/index.js'
import { createLimiter } from '../../src/optimize/limit.js'
import type { AxTrace } from '../../src/storage/types.js'
import { supportSpec } from './support.js'

const spec = supportSpec()

const trace = (id: string, extra: Partial<AxTrace> = {}): AxTrace => ({
  type: 'trace',
  id,
  name: spec.name,
  input: { customer_query: `query ${id}`, extra_field: 'dropped' },
  output: { polite_reply: `reply ${id}`, other: 1 },
  startTime: new Date(0),
  endTime: new Date(0),
  durationMs: 1,
  ...extra,
})

const other = (id: string, source: OptimizeCase['source'] = 'synthetic'): OptimizeCase => ({
  id,
  name: id,
  index: -1,
  input: { customer_query: `question ${id}` },
  source,
})

describe('feedbackKind', () => {
  it('reads known labels first, then the score', () => {
    expect(feedbackKind({ label: 'Good' })).toBe('positive')
    expect(feedbackKind({ label: 'negative', score: 1 })).toBe('negative')
    expect(feedbackKind({ score: 0.5 })).toBe('positive')
    expect(feedbackKind({ score: 0.49 })).toBe('negative')
    expect(feedbackKind({ label: 'meh', score: 0.9 })).toBe('positive')
    expect(feedbackKind({ comment: 'no score' })).toBe('none')
    expect(feedbackKind(undefined)).toBe('none')
  })
})

describe('traceCases', () => {
  it('orders failures, good answers, then the rest, and keeps only the signature fields', () => {
    const { cases, unusable } = traceCases(spec, [
      trace('plain'),
      trace('good', { feedback: { score: 0.9, comment: 'nice' } }),
      trace('bad', { feedback: { label: 'bad', comment: 'give a next step' } }),
      trace('broken', { input: { wrong: 'x' } }),
      trace('failed-good', { feedback: { label: 'good' }, error: 'timeout' }),
    ])
    expect(unusable).toBe(1)
    expect(cases.map((item) => item.id)).toEqual(['trace-bad', 'trace-good', 'trace-failed-good', 'trace-plain'])
    expect(cases[0]).toMatchObject({ input: { customer_query: 'query bad' }, criteria: 'give a next step', source: 'trace' })
    expect(cases[0]!.expected).toBeUndefined()
    expect(cases[1]).toMatchObject({ expected: { polite_reply: 'reply good' }, criteria: 'nice' })
    expect(cases[1]!.input).toEqual({ customer_query: 'query good' })
    expect(cases[1]!.expected).toEqual({ polite_reply: 'reply good' })
    expect(cases[2]!.expected).toBeUndefined()
  })
})

describe('splitCases', () => {
  const specCases = spec.cases.map((item): OptimizeCase => ({ ...item, source: 'spec' }))

  it('holds out the spec cases plus a seeded share, drops duplicate inputs, keeps train order', () => {
    const others = [...Array.from({ length: 10 }, (_, index) => other(`s${index}`)), { ...other('dup'), input: specCases[0]!.input }, other('s3')]
    const split = splitCases({ specCases, others, holdoutShare: 0.3, seed: 7 })
    expect(split.duplicates).toBe(2)
    expect(split.validation.slice(0, specCases.length)).toEqual(specCases)
    expect(split.validation).toHaveLength(specCases.length + 3)
    expect(split.train).toHaveLength(7)
    const order = others.map((item) => item.id)
    expect(split.train.map((item) => order.indexOf(item.id))).toEqual([...split.train.map((item) => order.indexOf(item.id))].sort((a, b) => a - b))
    expect(splitCases({ specCases, others, holdoutShare: 0.3, seed: 7 })).toEqual(split)
    const reseeded = splitCases({ specCases, others, holdoutShare: 0.3, seed: 8 })
    expect(reseeded.validation.map((item) => item.id)).not.toEqual(split.validation.map((item) => item.id))
  })

  it('always leaves two cases to train on when there are two', () => {
    expect(splitCases({ specCases, others: [other('a'), other('b')], holdoutShare: 0.9, seed: 1 }).train).toHaveLength(2)
    expect(splitCases({ specCases, others: [other('a'), other('b'), other('c')], holdoutShare: 0.9, seed: 1 }).train).toHaveLength(2)
    expect(splitCases({ specCases, others: [], holdoutShare: 0.3, seed: 1 }).train).toHaveLength(0)
  })
})

describe('unifiedDiff', () => {
  it('is empty for equal texts and shows removed lines before added ones', () => {
    expect(unifiedDiff('same', 'same')).toBe('')
    expect(unifiedDiff('Reply politely.', 'Reply politely.\nGive a next step.', ['v1', 'candidate'])).toBe(
      ['--- v1', '+++ candidate', '@@ -1,1 +1,2 @@', ' Reply politely.', '+Give a next step.'].join('\n'),
    )
    expect(unifiedDiff('a\nb\nc', 'a\nx\nc')).toBe(['--- before', '+++ after', '@@ -1,3 +1,3 @@', ' a', '-b', '+x', ' c'].join('\n'))
  })
})

describe('specHash', () => {
  it('changes with what a baseline depends on, and only with that', () => {
    const base = specHash(supportSpec())
    expect(specHash(supportSpec())).toBe(base)
    const edited = (change: (copy: ReturnType<typeof supportSpec>) => void) => {
      const copy = supportSpec()
      change(copy)
      return specHash(copy)
    }
    expect(edited((copy) => (copy.judge = 'Be brief.'))).not.toBe(base)
    expect(edited((copy) => (copy.threshold = 0.9))).not.toBe(base)
    expect(edited((copy) => copy.cases.pop())).not.toBe(base)
    expect(edited((copy) => (copy.cases[0]!.criteria = 'new criteria'))).not.toBe(base)
    const conversation = [{ role: 'user' as const, input: { customer_query: 'Hello.' } }, { role: 'assistant' as const, output: { polite_reply: 'Hi!' } }]
    const withHistory = edited((copy) => (copy.cases[0]!.history = conversation))
    expect(withHistory).not.toBe(base)
    expect(edited((copy) => (copy.cases[0]!.history = [conversation[0]!, { role: 'assistant', output: { polite_reply: 'Hello!' } }]))).not.toBe(withHistory)
    expect(edited((copy) => (copy.metric = () => 1))).not.toBe(base)
    expect(edited((copy) => (copy.instruction = 'Another seed.'))).toBe(base)
    expect(edited((copy) => (copy.tolerance = 0.2))).toBe(base)
  })
})

describe('createLimiter', () => {
  it('never runs more than its slots and serves foreground work first', async () => {
    const limit = createLimiter(2)
    let running = 0
    let most = 0
    const order: string[] = []
    const task = (name: string) => async () => {
      running++
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      order.push(name)
      running--
    }
    await Promise.all([
      limit(task('a')),
      limit(task('b')),
      limit(task('background'), 'background'),
      limit(task('c')),
      limit(task('d')),
    ])
    expect(most).toBe(2)
    expect(order.indexOf('background')).toBeGreaterThan(order.indexOf('d'))
  })
})

describe('readSynthetic', () => {
  it('is undefined without a file and names the field of a broken one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitest-learn-synthetic-'))
    expect(await readSynthetic(join(dir, 'synthetic.json'))).toBeUndefined()
    const path = join(dir, 'broken.json')
    const created = new Date(0).toISOString()
    await writeFile(path, JSON.stringify({ format: 1, spec: 'x', signature: 'a -> b', created, examples: [{ id: 'e', input: {}, expected: 'no', category: 'c' }] }))
    await expect(readSynthetic(path)).rejects.toThrow(LearnError)
    await expect(readSynthetic(path)).rejects.toThrow(/broken\.json › examples\[0\]\.expected: must be object[\s\S]*fix: fix the file, or delete it/)
    await writeFile(path, '{ nope')
    await expect(readSynthetic(path)).rejects.toThrow(/is not valid JSON/)
    await rm(dir, { recursive: true, force: true })
  })
})

describe('scoreProgram', () => {
  it('scores a program on cases with the judge and scores failures 0', async () => {
    const instructions: string[] = []
    const student = new AxMockAIService<string>({
      chatResponse: async (req: Readonly<AxChatRequest<unknown>>) => {
        const system = String(req.chatPrompt[0]?.content ?? '')
        instructions.push(system)
        const user = JSON.stringify(req.chatPrompt.at(-1)?.content ?? '')
        if (user.includes('Explode')) throw new Error('student is down')
        return { results: [{ index: 0, content: 'Polite Reply: Next step: call us.' }] }
      },
    })
    const judge = new AxMockAIService<string>({ chatResponse: { results: [{ index: 0, content: 'Score: 0.75\nReasons: Fine.' }] } })
    const cases = [
      { ...spec.cases[0]!, input: { customer_query: 'Where is it?' } },
      { ...spec.cases[1]!, input: { customer_query: 'Explode' } },
    ]
    const result = await scoreProgram({ spec, program: { instruction: 'Answer with a next step.' }, cases, student, judge, concurrency: 2 })
    expect(result.perCase).toEqual({ [cases[0]!.id]: 0.75, [cases[1]!.id]: 0 })
    expect(result.mean).toBe(0.375)
    expect(result.evaluations[1]!.error).toMatch(/student is down/)
    expect(instructions.some((system) => system.includes('Answer with a next step.'))).toBe(true)
  })
})
