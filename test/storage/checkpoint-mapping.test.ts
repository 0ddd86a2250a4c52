import { describe, expect, it } from 'vitest'
import { fromLearnCheckpoint, toLearnCheckpoint } from '../../src/formats/checkpoint-mapping.js'
import type { LearnCheckpoint } from '../../src/formats/types.generated.js'
import { assertFormat } from '../../src/formats/validate.js'
import type { AxCheckpoint } from '../../src/storage/index.js'

const createdAt = new Date('2024-05-01T10:00:00.000Z')
const base: AxCheckpoint = { type: 'checkpoint', name: 'support-chat', version: 3, createdAt }

describe('checkpoint mapping', () => {
  it('maps each AxCheckpoint field to its checkpoint.json field', () => {
    const learn = toLearnCheckpoint({
      ...base,
      instruction: 'Reply politely.',
      examples: [{ customer_query: 'Hi', polite_reply: 'Hello!' }],
      score: 0.9,
      optimizerType: 'gepa',
      metadata: {
        parent: 1,
        baseline: { mean: 0.85, scores: { a: 0.8, b: 0.9 } },
        hashes: { spec: 's1', judge: 'j1' },
        cost: { usd: 0.5, calls: 12 },
        optimizerStats: { rounds: 5 },
        componentMap: { 'root::instruction': 'Reply politely.' },
        modelConfig: { temperature: 0 },
        demos: [{ programId: 'root.judge', traces: [{ x: 1 }] }],
        owner: 'team-support',
      },
    })
    expect(learn).toEqual({
      format: 1,
      name: 'support-chat',
      version: 3,
      parent: 1,
      created: '2024-05-01T10:00:00.000Z',
      program: {
        instruction: 'Reply politely.',
        demos: [
          { programId: 'root', traces: [{ customer_query: 'Hi', polite_reply: 'Hello!' }] },
          { programId: 'root.judge', traces: [{ x: 1 }] },
        ],
        componentMap: { 'root::instruction': 'Reply politely.' },
        modelConfig: { temperature: 0 },
      },
      score: 0.9,
      baseline: { mean: 0.85, scores: { a: 0.8, b: 0.9 } },
      hashes: { spec: 's1', judge: 'j1' },
      optimizer: { type: 'gepa', stats: { rounds: 5 } },
      cost: { usd: 0.5, calls: 12 },
      metadata: { owner: 'team-support' },
    })
    assertFormat('checkpoint', learn, 'mapped', '')
  })

  it('defaults parent to the previous version, or null for the first', () => {
    expect(toLearnCheckpoint(base).parent).toBe(2)
    expect(toLearnCheckpoint({ ...base, version: 1 }).parent).toBeNull()
    expect(toLearnCheckpoint({ ...base, metadata: { parent: null } }).parent).toBeNull()
    expect(toLearnCheckpoint(base).program).toEqual({ instruction: '' })
  })

  it('keeps metadata that does not fit a checkpoint.json field in metadata', () => {
    const metadata = {
      cost: 1.5,
      baseline: { mean: 2, scores: {} },
      hashes: { spec: 'x' },
      optimizerStats: { a: 1 },
      parent: 0,
      createdBy: new Date(0),
    }
    const learn = toLearnCheckpoint({ ...base, metadata })
    expect(learn.cost).toBeUndefined()
    expect(learn.baseline).toBeUndefined()
    expect(learn.optimizer).toBeUndefined()
    expect(learn.parent).toBe(2)
    expect(learn.metadata).toEqual(metadata)
    assertFormat('checkpoint', JSON.parse(JSON.stringify(learn)), 'mapped', '')
  })

  it.each<[string, AxCheckpoint]>([
    ['a minimal checkpoint', base],
    ['empty metadata and examples', { ...base, metadata: {}, examples: [] }],
    ['a parent equal to the default', { ...base, metadata: { parent: 2 } }],
    ['a parent of null on a later version', { ...base, metadata: { parent: null } }],
    [
      'only well-known metadata',
      { ...base, optimizerType: 'mipro', metadata: { optimizerStats: { n: 1 }, hashes: { spec: 'a', judge: 'b' } } },
    ],
    ['root demos kept in metadata', { ...base, metadata: { demos: [{ programId: 'root', traces: [] }] } }],
    ['stats without an optimizer type', { ...base, metadata: { optimizerStats: { n: 1 } } }],
  ])('round-trips %s exactly', (_, checkpoint) => {
    expect(fromLearnCheckpoint(toLearnCheckpoint(checkpoint))).toStrictEqual(checkpoint)
  })

  it('reads a checkpoint.json written by the optimizer', () => {
    const file: LearnCheckpoint = {
      format: 1,
      name: 'support-chat',
      version: 2,
      parent: 1,
      created: '2024-05-01T10:00:00Z',
      program: { instruction: 'Be brief.', demos: [{ programId: 'root', traces: [{ q: 1 }] }] },
      baseline: { mean: 0.9, scores: { a: 0.9 } },
      optimizer: { type: 'gepa' },
    }
    expect(fromLearnCheckpoint(file)).toStrictEqual({
      type: 'checkpoint',
      name: 'support-chat',
      version: 2,
      createdAt: new Date('2024-05-01T10:00:00.000Z'),
      instruction: 'Be brief.',
      examples: [{ q: 1 }],
      optimizerType: 'gepa',
      metadata: { baseline: { mean: 0.9, scores: { a: 0.9 } } },
    })
  })
})
