// The bad-inputs table (support/bad-inputs.ts): every input fails with a LearnError naming the
// file and the field, and leaves the files it touched byte-identical.
import { beforeAll, describe, expect, it } from 'vitest'
import { postgresSkip, postgresUrl, requirePostgres } from '../storage/support/postgres.js'
import { badInputIds, runBadInputs, type BadInputOutcome } from './support/bad-inputs.js'

describe(`bad inputs${postgresSkip ? ` (Postgres skipped: ${postgresSkip})` : ''}`, () => {
  const ids = badInputIds(!postgresSkip)
  let outcomes: Map<string, BadInputOutcome>

  beforeAll(async () => {
    if (!postgresSkip) await requirePostgres()
    outcomes = new Map((await runBadInputs(postgresSkip ? {} : { postgresUrl })).map((outcome) => [outcome.id, outcome]))
  }, 300_000)

  it('are at least 30 distinct inputs, and every one was tried', () => {
    expect(new Set(ids.map((id) => id.replace(/ \(.*\)$/, ''))).size).toBeGreaterThanOrEqual(30)
    expect([...outcomes.keys()]).toEqual(ids)
  })

  for (const id of ids) {
    it(`${id}: a clear error, files untouched`, () => expect(outcomes.get(id), outcomes.get(id)?.detail).toMatchObject({ verdict: 'clear' }))
  }
})
