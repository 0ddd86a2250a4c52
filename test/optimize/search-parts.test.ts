import { describe, expect, it } from 'vitest'
import { problemsOf, showsTheme, themesOf } from '../../src/optimize/feedback.js'
import { mergeInstructions, sentenceSetKey } from '../../src/optimize/merge.js'
import { CandidatePool, type Candidate, type CaseView } from '../../src/optimize/pool.js'

describe('problems and themes', () => {
  it('takes each sentence of a judge’s reasons as a problem, and leaves praise and bare scores out', () => {
    expect(problemsOf('Not signed off. Promised a refund; the house offers store credit.').map((problem) => problem.text)).toEqual([
      'Not signed off.',
      'Promised a refund; the house offers store credit.',
    ])
    expect(problemsOf('Meets every house rule.')).toEqual([])
    expect(problemsOf('score 0.40: no reasons')).toEqual([])
    expect(problemsOf('- Too long.\n- No greeting.').map((problem) => problem.text)).toEqual(['Too long.', 'No greeting.'])
  })

  it('groups the same problem across cases, most widespread first, and rewordings with it', () => {
    const themes = themesOf([
      { caseId: 'a', problems: problemsOf('Not signed off as "The Support Team". Gave no tracking link.') },
      { caseId: 'b', problems: problemsOf('Not signed off as "The Support Team".') },
      { caseId: 'c', problems: problemsOf('Reply was not signed off as "The Support Team".') },
    ])
    expect(themes.map((theme) => [theme.text, theme.caseIds])).toEqual([
      ['Not signed off as "The Support Team".', ['a', 'b', 'c']],
      ['Gave no tracking link.', ['a']],
    ])
  })

  it('keeps word order: "expected high, got normal" is not "expected normal, got high"', () => {
    const themes = themesOf([
      { caseId: 'a', problems: problemsOf('priority: expected high, got normal.') },
      { caseId: 'b', problems: problemsOf('priority: expected normal, got high.') },
    ])
    expect(themes).toHaveLength(2)
    expect(showsTheme(problemsOf('priority: expected normal, got high.'), themes.find((theme) => theme.caseIds[0] === 'a')!)).toBe(false)
  })
})

describe('mergeInstructions', () => {
  const base = 'Reply politely to the customer.'

  it('applies two edits that touch different sentences', () => {
    expect(mergeInstructions(base, `${base} Sign off as the team.`, `${base} Offer store credit.`)).toBe(`${base} Sign off as the team. Offer store credit.`)
    expect(mergeInstructions(base, 'Reply kindly to the customer.', `${base} Offer store credit.`)).toBe('Reply kindly to the customer. Offer store credit.')
    expect(mergeInstructions('A. B.\nC.', 'A. B.\nC. D.', 'A. E. B.\nC.')).toBe('A. E. B.\nC. D.')
  })

  it('refuses edits that change the same sentence, and merges that add nothing', () => {
    expect(mergeInstructions(base, 'Reply kindly to the customer.', 'Reply briefly to the customer.')).toBeUndefined()
    expect(mergeInstructions(base, `${base} X.`, base)).toBeUndefined()
  })

  it('adds a sentence both edits add once', () => {
    expect(mergeInstructions(base, `${base} Be brief.`, `${base} Sign off. Be brief.`)).toBe(`${base} Be brief. Sign off.`)
    expect(mergeInstructions(base, `${base} Be brief.`, `${base} Be brief. Sign off.`)).toBeUndefined() // the second holds both
  })

  it('sees the same sentences in another order as the same instruction', () => {
    expect(sentenceSetKey('A. B. C.')).toBe(sentenceSetKey('C. A. B.'))
    expect(sentenceSetKey('A. B.')).not.toBe(sentenceSetKey('A. B. C.'))
  })
})

describe('CandidatePool', () => {
  const view = (score: number, problems = ''): CaseView => ({ score, problems: problemsOf(problems), prediction: {}, trajectory: { toolCalls: [], steps: 1 }, measured: true })
  const candidate = (id: number, parent: number | undefined, scores: Record<string, number>): Candidate => ({
    id,
    parent,
    round: 0,
    origin: id === 0 ? { kind: 'start' } : { kind: 'proposal', theme: 'x', component: 'root::instruction' },
    state: { instruction: `v${id}` },
    views: new Map(Object.entries(scores).map(([caseId, score]) => [caseId, view(score, score < 1 ? 'Too long.' : '')])),
    fixed: [],
    addressed: [],
  })

  it('keeps on its front the leaves best on some case, with the cases they win', () => {
    const pool = new CandidatePool()
    pool.add(candidate(0, undefined, { a: 0, b: 0, c: 0 }))
    pool.add(candidate(1, 0, { a: 1, b: 0, c: 0 }))
    pool.add(candidate(2, 0, { a: 0, b: 1, c: 0.5 }))
    const front = pool.front().map((member) => [member.candidate.id, member.wins])
    expect(front).toEqual([
      [1, 1],
      [2, 2],
    ])
    expect(pool.best().id).toBe(2)
  })

  it('drops a dominated leaf from the front', () => {
    const pool = new CandidatePool()
    pool.add(candidate(0, undefined, { a: 0.5, b: 0.5 }))
    pool.add(candidate(1, 0, { a: 0.5, b: 1 }))
    pool.add(candidate(2, 0, { a: 0.5, b: 0.5 }))
    expect(pool.front().map((member) => member.candidate.id)).toEqual([1])
  })

  it('lets a child inherit its parent’s views, as assumed, without the problems it fixed', () => {
    const pool = new CandidatePool()
    const parent = candidate(0, undefined, { a: 0.5 })
    parent.views.set('a', view(0.5, 'Too long. No greeting.'))
    const inherited = pool.inherit(parent, [{ key: 'too long', text: 'Too long.', caseIds: [] }])
    expect(inherited.get('a')).toMatchObject({ score: 0.5, measured: false })
    expect(inherited.get('a')!.problems.map((problem) => problem.text)).toEqual(['No greeting.'])
  })
})
