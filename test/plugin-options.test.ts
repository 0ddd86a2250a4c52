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

  it.each([
    [{ studnet: { name: 'openai' } }, 'learn({ studnet })', 'unknown option "studnet"; did you mean "student"?'],
    [{ snapshotDirectory: 'x' }, 'learn({ snapshotDirectory })', 'unknown option "snapshotDirectory"; the options are student, teacher, judge, snapshotDir, traces, optimize, concurrency, timeout, retry'],
    [{ optimize: { concurency: 2 } }, 'learn({ optimize.concurency })', 'unknown setting "concurency"; did you mean "concurrency"?'],
    [{ traces: { storag: 'memory:' } }, 'learn({ traces.storag })', 'unknown setting "storag"; did you mean "storage"?'],
  ])('rejects the unknown name in %j, suggesting the one it most likely meant', (options, field, message) => {
    expect(() => learn(options as never)).toThrow(`vitest.config › ${field}: ${message}`)
  })

  it('accepts every documented option', () => {
    const model = { name: 'openai', apiKey: 'x' } as const
    const plugin = learn({
      student: model,
      teacher: model,
      judge: model,
      snapshotDir: 'recordings',
      traces: { storage: 'memory:' },
      optimize: { concurrency: 2, maxTokens: 1000, maxUsd: 1, seed: 3 },
      concurrency: 4,
      timeout: 60_000,
      retry: { maxAttempts: 2, totalTimeoutMs: 10_000, attemptTimeoutMs: 5_000 },
    })
    expect(plugin.name).toBe('vitest-learn')
  })

  it('accepts ai() arguments with any model name', () => {
    expect(learn({ student: { name: 'openai', apiKey: 'x', config: { model: 'my-fine-tune' } } }).name).toBe('vitest-learn')
  })
})
