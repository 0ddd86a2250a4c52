import { describe, expect, it } from 'vitest'
import { acceptRequested, optimizeRequested, recordModeConflict, recordRequested } from '../plugin/mode.js'

describe('optimize and accept modes', () => {
  it('are asked for by the bin’s environment variable, or by a flag after --', () => {
    expect(optimizeRequested({ LEARN_OPTIMIZE: '1' }, ['node', 'vitest', 'run'])).toBe(true)
    expect(optimizeRequested({}, ['node', 'vitest', 'run', '--', '--optimize'])).toBe(true)
    expect(acceptRequested({ LEARN_ACCEPT: 'true' }, ['node', 'vitest'])).toBe(true)
    expect(acceptRequested({}, ['node', 'vitest', 'run', '--', '--accept'])).toBe(true)
  })

  it('are off unless asked for, and off for LEARN_OPTIMIZE=0, false or empty', () => {
    for (const value of [undefined, '', '0', 'false']) expect(optimizeRequested({ LEARN_OPTIMIZE: value }, ['node', 'vitest', 'run'])).toBe(false)
    expect(acceptRequested({}, ['node', 'vitest', 'run', '--optimize'])).toBe(false)
  })
})

describe('the record mode', () => {
  it('is LEARN_RECORD when set, else left to Vitest’s snapshot state', () => {
    for (const mode of ['missing', 'all', 'none', 'live']) expect(recordRequested({ LEARN_RECORD: mode })).toBe(mode)
    expect(recordRequested({})).toBeUndefined()
    expect(recordRequested({ LEARN_RECORD: '' })).toBeUndefined()
  })

  it('rejects a misspelled LEARN_RECORD, naming the variable and the mode it most likely meant', () => {
    expect(() => recordRequested({ LEARN_RECORD: 'al' })).toThrow('LEARN_RECORD: unknown record mode "al"; did you mean "all"?')
  })
})

describe('record modes that cannot go with optimizing or accepting', () => {
  it('are refused alike by the bin and by LEARN_RECORD with LEARN_OPTIMIZE or LEARN_ACCEPT', () => {
    expect(recordModeConflict('live', { optimize: true, accept: false })).toContain('--record=live cannot go with it')
    expect(recordModeConflict('none', { optimize: true, accept: false })).toContain('--record=none cannot go with it')
    expect(recordModeConflict('live', { optimize: false, accept: true })).toContain('--record=live writes nothing')
    for (const record of [undefined, 'missing', 'all']) expect(recordModeConflict(record, { optimize: true, accept: true })).toBeUndefined()
  })
})
