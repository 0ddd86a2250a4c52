import { describe, expect, it } from 'vitest'
import { closestMatch, editDistance, unknownNameMessage } from '../src/suggest.js'

describe('editDistance', () => {
  it.each([
    ['threshold', 'threshold', 0],
    ['threshhold', 'threshold', 1], // one letter too many
    ['critera', 'criteria', 1], // one missing
    ['studnet', 'student', 1], // two neighbours swapped count once
    ['optimise', 'optimize', 1],
    ['Threshold', 'threshold', 0], // case is ignored
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%j → %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance)
    expect(editDistance(b, a)).toBe(distance)
  })
})

describe('closestMatch', () => {
  const fields = ['name', 'program', 'instruction', 'cases', 'judge', 'metric', 'threshold', 'tolerance', 'optimize']

  it('finds the field a typo most likely meant', () => {
    expect(closestMatch('threshhold', fields)).toBe('threshold')
    expect(closestMatch('instructions', fields)).toBe('instruction')
    expect(closestMatch('judg', fields)).toBe('judge')
  })

  it('suggests nothing for a word that is not close to any', () => {
    expect(closestMatch('judgeSamples', fields)).toBeUndefined()
    expect(closestMatch('xyz', fields)).toBeUndefined()
  })

  it('prefers the nearest of several candidates', () => {
    expect(closestMatch('cases', ['case', 'cases', 'bases'])).toBe('cases')
  })
})

describe('unknownNameMessage', () => {
  it('suggests the likely name', () => {
    expect(unknownNameMessage('field', 'threshhold', ['threshold', 'tolerance'])).toBe('unknown field "threshhold"; did you mean "threshold"?')
  })

  it('lists the known names when none is close', () => {
    expect(unknownNameMessage('option', 'colour', ['student', 'teacher'])).toBe('unknown option "colour"; the options are student, teacher')
  })
})
