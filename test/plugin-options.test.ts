import { describe, expect, it } from 'vitest'
import learn from '../plugin/index.js'

describe('learn() plugin options', () => {
  it.each([
    [{ student: 'gpt-4o-mini' }, 'learn({ student })', 'ai() arguments'],
    [{ teacher: 42 }, 'learn({ teacher })', 'ai() arguments'],
    [{ snapshotDir: '' }, 'learn({ snapshotDir })', 'folder path'],
    [{ studnet: { name: 'openai' } }, 'learn({ studnet })', 'unknown option "studnet"'],
    [{ retry: 3 }, 'learn({ retry })', 'maxAttempts?, totalTimeoutMs?, attemptTimeoutMs?'],
    [{ retry: { totalTimeoutMs: 0 } }, 'learn({ retry.totalTimeoutMs })', 'whole number >= 1'],
    [{ retry: { maxAttemps: 2 } }, 'learn({ retry.maxAttemps })', 'unknown setting "maxAttemps"'],
  ])('rejects %j, naming the option', (options, field, message) => {
    expect(() => learn(options as never)).toThrow(field)
    expect(() => learn(options as never)).toThrow(message)
  })

  it('accepts retry settings', () => {
    expect(learn({ retry: { maxAttempts: 2, totalTimeoutMs: 10_000, attemptTimeoutMs: 5_000 } }).name).toBe('vitest-learn')
  })

  it('accepts ai() arguments with any model name', () => {
    expect(learn({ student: { name: 'openai', apiKey: 'x', config: { model: 'my-fine-tune' } } }).name).toBe('vitest-learn')
  })
})
