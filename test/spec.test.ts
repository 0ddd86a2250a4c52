import { agent, ax, AxMockAIService } from '@ax-llm/ax'
import { describe, expect, it } from 'vitest'
import { LearnError } from '../src/errors.js'
import { judgeHash } from '../src/judge.js'
import { caseName, defaultThreshold, defaultTolerance, defineLearn, isLearnSpec, redactCaseNames, type LearnSpec } from '../src/spec.js'

const program = () => ax('customer_query:string -> polite_reply:string')

/** A spec that passes validation; each test breaks one field of it. */
const validSpec = (): Record<string, unknown> => ({
  name: 'support-chat-v1',
  program: program(),
  instruction: 'Reply politely to the customer support message.',
  cases: [
    { input: { customer_query: 'Where is my order #12345?' } },
    { input: { customer_query: 'The lamp arrived broken.' }, criteria: 'apologizes and gives a next step' },
  ],
  judge: 'Polite, accurate, concise.',
})

/** defineLearn with untyped input: these tests feed it what a careless user might write. */
const define = (spec: Record<string, unknown>): LearnSpec =>
  defineLearn(spec as unknown as Parameters<typeof defineLearn>[0]) as unknown as LearnSpec

const withField = (field: string, value: unknown) => ({ ...validSpec(), [field]: value })
const withoutField = (field: string) => {
  const spec = validSpec()
  delete spec[field]
  return spec
}
const withCases = (...cases: unknown[]) => withField('cases', cases)

/** The LearnError defineLearn throws for `spec`; fails the test when it does not throw one. */
function errorOf(spec: Record<string, unknown>): LearnError {
  try {
    define(spec)
  } catch (error) {
    expect(error).toBeInstanceOf(LearnError)
    return error as LearnError
  }
  throw new Error('defineLearn accepted a malformed spec')
}

/** Asserts the error names `field` (in its `field` and its message) and says each of `expected`. */
function expectRejected(spec: Record<string, unknown>, field: string, ...expected: (string | RegExp)[]): LearnError {
  const error = errorOf(spec)
  expect(error.field).toBe(field)
  expect(error.message.startsWith(`${field}: `), error.message).toBe(true)
  for (const text of expected) expect(error.message).toMatch(text)
  return error
}

describe('defineLearn: name', () => {
  it('requires a name', () => {
    expectRejected(withoutField('name'), 'name', 'non-empty string', 'snapshots/<name>/')
  })

  it('rejects an empty name', () => {
    expectRejected(withField('name', ''), 'name', 'non-empty string', 'got ""')
  })

  it('rejects a name with a slash, since it names a folder', () => {
    expectRejected(withField('name', 'support/v1'), 'name', 'letters, digits, dot, dash or underscore', '"support/v1"')
  })

  it('rejects a name that is not a string', () => {
    expectRejected(withField('name', 42), 'name', 'got 42')
  })

  it('rejects a name too long for a folder name, before any file is touched', () => {
    const error = expectRejected(withField('name', 'a'.repeat(300)), 'name', 'is 300 characters long', 'at most 100', 'snapshots/<name>/')
    expect(error.fix).toMatch(/shorter name/)
  })

  it('accepts a name of 100 characters', () => {
    expect(define(withField('name', 'a'.repeat(100))).name).toHaveLength(100)
  })
})

describe('defineLearn: unknown fields', () => {
  it('rejects a misspelled field, suggesting the one it most likely meant', () => {
    const error = expectRejected(withField('threshhold', 0.9), 'threshhold')
    expect(error.detail).toBe('unknown field "threshhold"; did you mean "threshold"?')
  })

  it('lists the fields when the unknown one is close to none', () => {
    expectRejected(withField('colour', 'blue'), 'colour', 'unknown field "colour"; the fields are name, program, instruction, cases')
  })

  it('rejects a misspelled field inside optimize', () => {
    const error = expectRejected(withField('optimize', { budgte: 5 }), 'optimize.budgte')
    expect(error.detail).toBe('unknown field "budgte"; did you mean "budget"?')
  })

  it('rejects a misspelled field of a case, naming the case', () => {
    const error = expectRejected(withCases({ input: { customer_query: 'a' } }, { input: { customer_query: 'b' }, critera: 'polite' }), 'cases[1].critera')
    expect(error.detail).toBe('unknown field "critera"; did you mean "criteria"?')
  })

  it('accepts every documented field', () => {
    const spec = define({
      ...validSpec(),
      metric: () => 1,
      metrics: { exact: () => 1 },
      samples: 2,
      judgeSamples: 2,
      threshold: 0.5,
      tolerance: 0.1,
      optimize: { budget: 1, synthCount: 0, useTraces: false, generateExamples: false },
      student: { name: 'openai', apiKey: 'k' },
      teacher: { name: 'openai', apiKey: 'k' },
      judgeModel: { name: 'openai', apiKey: 'k' },
      cases: [
        {
          id: 'a',
          name: 'A',
          input: { customer_query: 'a' },
          history: [{ role: 'user', input: { customer_query: 'hi' } }, { role: 'assistant', output: { polite_reply: 'hello' } }],
          expected: { polite_reply: 'b' },
          criteria: 'c',
        },
      ],
      judge: { rubric: 'Polite.', trajectory: true },
    })
    expect(spec.cases).toHaveLength(1)
    expect(spec.judge).toBe('Polite.')
    expect(spec.judgeTrajectory).toBe(true)
  })
})

describe('defineLearn: tools', () => {
  const lookup = { name: 'lookup_order', description: 'Looks up an order.', parameters: { type: 'object', properties: {} }, func: async () => ({}) }
  const withTools = () => ({ ...validSpec(), program: ax('customer_query:string -> polite_reply:string', { functions: [lookup] }) })

  it('accepts live tools the program has', () => {
    expect(define({ ...withTools(), liveTools: ['lookup_order'] }).liveTools).toEqual(['lookup_order'])
    expect(define(withTools()).liveTools).toEqual([])
  })

  it('rejects a live tool the program lacks, suggesting the one it most likely meant', () => {
    const error = expectRejected({ ...withTools(), liveTools: ['lookup_ordr'] }, 'liveTools[0]')
    expect(error.detail).toBe('unknown tool "lookup_ordr"; did you mean "lookup_order"?')
  })

  it('rejects live tools for a program without functions, and a value that is not a list of names', () => {
    expectRejected(withField('liveTools', ['clock']), 'liveTools[0]', 'the program has no functions')
    expectRejected({ ...withTools(), liveTools: 'lookup_order' }, 'liveTools', 'must be an array of tool names')
  })

  it('accepts an agent() program, whose instruction the spec must give', () => {
    const program = agent('customer_query:string -> polite_reply:string', { functions: [lookup], contextFields: [] })
    expect(define({ ...validSpec(), program }).instruction).toBe('Reply politely to the customer support message.')
    expectRejected({ ...withoutField('instruction'), program }, 'instruction', 'is required')
  })
})

describe('defineLearn: judge options', () => {
  it('rejects a misspelled judge option and a rubric that is empty', () => {
    expect(expectRejected(withField('judge', { rubric: 'Polite.', trajectry: true }), 'judge.trajectry').detail).toBe(
      'unknown field "trajectry"; did you mean "trajectory"?',
    )
    expectRejected(withField('judge', { rubric: ' ' }), 'judge.rubric', 'non-empty rubric')
    expectRejected(withField('judge', { rubric: 'Polite.', trajectory: 'yes' }), 'judge.trajectory', 'true or false')
  })

  it('keeps the judge hash of a rubric string, so existing checkpoints stay current, and changes it when the judge sees the trajectory', () => {
    expect(judgeHash('Polite.', false)).toBe(judgeHash('Polite.'))
    expect(judgeHash('Polite.', true)).not.toBe(judgeHash('Polite.'))
  })
})

describe('defineLearn: conversations', () => {
  const turns = (...history: unknown[]) => withCases({ input: { customer_query: 'And now?' }, history })
  const user = { role: 'user', input: { customer_query: 'Hi' } }
  const assistant = { role: 'assistant', output: { polite_reply: 'Hello' } }

  it('gives a case with a history an id of its own', () => {
    const [plain, chat] = define(withCases({ input: { customer_query: 'And now?' } }, { input: { customer_query: 'And now?' }, history: [user, assistant] })).cases
    expect(plain!.id).not.toBe(chat!.id)
  })

  it('rejects turns out of order, a user turn lacking an input field, and an odd number of turns', () => {
    expectRejected(turns(assistant, user), 'cases[0].history[0]', "must be { role: 'user', input: { ... } }")
    expectRejected(turns({ role: 'user', input: { other: 'x' } }, assistant), 'cases[0].history[0].input', 'lacks the program’s input field(s) customer_query')
    expectRejected(turns(user), 'cases[0].history', 'must be pairs of turns')
  })

  it('rejects a conversation for an agent(), which keeps no chat memory', () => {
    const program = agent('customer_query:string -> polite_reply:string', { contextFields: [] })
    expectRejected({ ...turns(user, assistant), program }, 'cases[0].history', 'the program is an agent()')
  })
})

describe('defineLearn: program', () => {
  it('rejects something that is not an ax program', () => {
    expectRejected(withField('program', { forward: () => ({}) }), 'program', 'must be an ax program', "ax('")
  })

  it('rejects a signature string instead of a program', () => {
    expectRejected(withField('program', 'customer_query:string -> polite_reply:string'), 'program', 'must be an ax program')
  })
})

describe('defineLearn: instruction', () => {
  it('is required when the program carries none', () => {
    const error = expectRejected(withoutField('instruction'), 'instruction', 'is required', 'empty prompt')
    expect(error.fix).toMatch(/instruction:/)
    expect(error.message).toContain('fix: ')
  })

  it('rejects a blank instruction', () => {
    expectRejected(withField('instruction', '   '), 'instruction', 'is required')
  })

  it('rejects an instruction that is not a string', () => {
    expectRejected(withField('instruction', 42), 'instruction', 'must be a string')
  })

  it('accepts and uses the instruction the program already carries', () => {
    const seeded = program()
    seeded.setInstruction('Answer like a concierge.')
    const spec = define({ ...withoutField('instruction'), program: seeded })
    expect(spec.instruction).toBe('Answer like a concierge.')
  })

  it('prefers the spec’s instruction to the program’s', () => {
    const seeded = program()
    seeded.setInstruction('Answer like a concierge.')
    const spec = define({ ...validSpec(), program: seeded })
    expect(spec.instruction).toBe('Reply politely to the customer support message.')
  })
})

describe('defineLearn: cases', () => {
  it('must be an array', () => {
    expectRejected(withField('cases', { input: { customer_query: 'hi' } }), 'cases', 'non-empty array')
  })

  it('must not be empty', () => {
    expectRejected(withCases(), 'cases', 'non-empty array')
  })

  it('rejects an item that is not an object', () => {
    expectRejected(withCases({ input: { customer_query: 'hi' } }, 'hello'), 'cases[1]', 'must be an object with an `input`')
  })

  it('rejects an input that is not an object', () => {
    expectRejected(withCases({ input: 'hi' }), 'cases[0].input', 'must be an object')
  })

  it('names the required input field a case lacks', () => {
    expectRejected(
      withCases({ input: { customer_query: 'hi' } }, { input: { question: 'hi' } }),
      'cases[1].input',
      'customer_query',
    )
  })

  it('does not require optional input fields', () => {
    const spec = define({
      ...validSpec(),
      program: ax('customer_query:string, order_id?:string -> polite_reply:string'),
      cases: [{ input: { customer_query: 'hi' } }],
    })
    expect(spec.cases).toHaveLength(1)
  })

  it('rejects an `expected` that is not an object', () => {
    expectRejected(withCases({ input: { customer_query: 'hi' }, expected: 'Hello!' }), 'cases[0].expected', 'must be an object of output fields')
  })

  it('rejects `criteria` that is not a string', () => {
    expectRejected(withCases({ input: { customer_query: 'hi' }, criteria: ['polite'] }), 'cases[0].criteria', 'must be a string')
  })

  it('rejects an id with characters outside letters, digits, dot, dash, underscore', () => {
    expectRejected(withCases({ id: 'order status?', input: { customer_query: 'hi' } }), 'cases[0].id', 'letters, digits, dot, dash or underscore')
  })

  it('rejects duplicate ids, naming both cases', () => {
    const error = expectRejected(
      withCases({ id: 'order', input: { customer_query: 'a' } }, { input: { customer_query: 'b' } }, { id: 'order', input: { customer_query: 'c' } }),
      'cases[2].id',
      'cases[0]',
      '(order)',
    )
    expect(error.fix).toMatch(/distinct `id`/)
  })

  it('rejects duplicate inputs, naming both cases', () => {
    expectRejected(withCases({ input: { customer_query: 'same' } }, { input: { customer_query: 'same' } }), 'cases[1].input', 'same input as cases[0]')
  })

  it('rejects a circular input with a clear error naming where it loops, instead of overflowing the stack', () => {
    const input: Record<string, unknown> = { customer_query: 'hi', order: { id: 1 } }
    ;(input.order as Record<string, unknown>).back = input
    expectRejected(
      withCases({ input: { customer_query: 'ok' } }, { input }),
      'cases[1].input.order.back',
      'a circular reference back to cases[1].input',
      'must be JSON data',
    )
  })

  it.each([
    ['a function', () => 'hi'],
    ['a BigInt', 10n],
    ['a symbol', Symbol('x')],
  ])('rejects an input holding %s, which cannot be recorded', (found, value) => {
    expectRejected(withCases({ input: { customer_query: 'hi', extra: [1, value] } }), 'cases[0].input.extra[1]', `is ${found}, which cannot be recorded`)
  })

  it('rejects an `expected` that is not JSON data', () => {
    expectRejected(withCases({ input: { customer_query: 'hi' }, expected: { polite_reply: 5n } }), 'cases[0].expected.polite_reply', 'is a BigInt')
  })

  it('accepts an input that shares one object in two places (no cycle)', () => {
    const shared = { id: 1 }
    expect(define(withCases({ input: { customer_query: 'hi', a: shared, b: [shared] } })).cases).toHaveLength(1)
  })

  it('rejects an explicit id that repeats another case’s, naming both cases', () => {
    expectRejected(withCases({ id: 'a', input: { customer_query: 'one' } }, { id: 'a', input: { customer_query: 'two' } }), 'cases[1].id', 'cases[0]')
  })
})

describe('defineLearn: scoring', () => {
  it('rejects an empty judge rubric', () => {
    expectRejected(withField('judge', ''), 'judge', 'non-empty rubric')
  })

  it('rejects a metric that is not a function', () => {
    expectRejected(withField('metric', 1), 'metric', 'must be a function')
  })

  it('needs a judge, a metric or named metrics', () => {
    expectRejected(withoutField('judge'), 'judge', 'a `judge` rubric, a `metric` or `metrics` (or several of them)')
  })

  it('accepts named metrics alone, or beside the judge', () => {
    const exact = () => 1
    const length = () => 0.5
    expect(define({ ...withoutField('judge'), metrics: { exact } }).metrics).toEqual({ exact })
    expect(define({ ...validSpec(), metrics: { exact, length } }).metrics).toEqual({ exact, length })
  })

  it.each([
    [{}, 'metrics', 'must be an object of named scorers'],
    [[() => 1], 'metrics', 'must be an object of named scorers'],
    [{ exact: 1 }, 'metrics.exact', 'must be a function'],
    [{ '2fast': () => 1 }, 'metrics.2fast', 'must be named with letters'],
    [{ judge: () => 1 }, 'metrics.judge', '"judge" names the judge in reports'],
    [{ metric: () => 1 }, 'metrics.metric', '"metric" names the spec\'s `metric` in reports'],
  ])('rejects metrics = %j, naming %s', (metrics, field, message) => {
    expectRejected(withField('metrics', metrics), field, message)
  })

  it('accepts a metric without a judge', () => {
    const metric = () => 1
    expect(define({ ...withoutField('judge'), metric }).metric).toBe(metric)
  })

  it.each([
    ['threshold', 1.5],
    ['threshold', -0.1],
    ['threshold', '0.8'],
    ['tolerance', 2],
    ['tolerance', -1],
  ])('rejects %s = %j, outside [0, 1]', (field, value) => {
    expectRejected(withField(field, value), field, 'must be a number from 0 to 1', `got ${JSON.stringify(value)}`)
  })

  it.each(['threshold', 'tolerance'])('rejects %s = NaN', (field) => {
    expectRejected(withField(field, Number.NaN), field, 'must be a number from 0 to 1')
  })

  // BUG (src/spec.ts checkUnit, and the optimize.budget check): the value is shown with
  // JSON.stringify, which renders NaN (and Infinity) as `null`, so the message reads
  // "threshold: must be a number from 0 to 1, got null" for `threshold: NaN`.
  it('shows NaN as NaN in the message, not as null', () => {
    expectRejected(withField('threshold', Number.NaN), 'threshold', 'got NaN')
  })

  it('accepts the bounds 0 and 1', () => {
    const spec = define({ ...validSpec(), threshold: 1, tolerance: 0 })
    expect([spec.threshold, spec.tolerance]).toEqual([1, 0])
  })

  it('defaults samples to 5 replies per case and judgeSamples to 1 verdict per reply', () => {
    expect([define(validSpec()).samples, define(validSpec()).judgeSamples]).toEqual([5, 1])
    const spec = define({ ...validSpec(), samples: 5, judgeSamples: 2 })
    expect([spec.samples, spec.judgeSamples]).toEqual([5, 2])
  })

  it.each([
    ['samples', 0],
    ['samples', 1.5],
    ['samples', 101],
    ['judgeSamples', '2'],
    ['judgeSamples', Number.POSITIVE_INFINITY],
  ])('rejects %s = %s, not a whole number from 1 to 100', (field, value) => {
    expectRejected(withField(field, value), field, 'must be a whole number from 1 to 100', `got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`)
  })

  it('defaults threshold to 0.8 and tolerance to 0.05', () => {
    const spec = define(validSpec())
    expect([spec.threshold, spec.tolerance]).toEqual([0.8, 0.05])
    expect([defaultThreshold, defaultTolerance]).toEqual([0.8, 0.05])
  })
})

describe('defineLearn: optimize', () => {
  it('must be an object', () => {
    expectRejected(withField('optimize', 20), 'optimize', 'must be an object')
  })

  it.each([-1, 2.5, '20'])('rejects optimize.budget = %j', (budget) => {
    expectRejected(withField('optimize', { budget }), 'optimize.budget', 'whole number >= 0', `got ${JSON.stringify(budget)}`)
  })

  it('rejects a non-integer optimize.synthCount', () => {
    expectRejected(withField('optimize', { synthCount: 0.5 }), 'optimize.synthCount', 'whole number >= 0')
  })

  it('rejects a non-boolean optimize.useTraces', () => {
    expectRejected(withField('optimize', { useTraces: 'yes' }), 'optimize.useTraces', 'true or false')
  })

  it('accepts valid optimize options', () => {
    const optimize = { budget: 0, synthCount: 50, useTraces: true, generateExamples: false }
    expect(define({ ...validSpec(), optimize }).optimize).toEqual(optimize)
  })
})

describe('defineLearn: models', () => {
  it.each(['student', 'teacher', 'judgeModel'])('rejects %s that is neither an ax service nor ai() arguments', (field) => {
    expectRejected(withField(field, 'gpt-4o-mini'), field, 'ax service or ai() arguments')
  })

  it('accepts ai() arguments and a ready ax service', () => {
    const student = { name: 'openai', apiKey: 'k', config: { model: 'gpt-4o-mini' } }
    const teacher = new AxMockAIService()
    const spec = define({ ...validSpec(), student, teacher })
    expect(spec.student).toBe(student)
    expect(spec.teacher).toBe(teacher)
  })
})

describe('defineLearn: result', () => {
  it('rejects something that is not an object', () => {
    expect(() => defineLearn(undefined as never)).toThrow(LearnError)
  })

  it('is marked as a learn spec', () => {
    expect(isLearnSpec(define(validSpec()))).toBe(true)
    expect(isLearnSpec(validSpec())).toBe(false)
  })

  it('gives each case its position', () => {
    expect(define(validSpec()).cases.map((item) => item.index)).toEqual([0, 1])
  })
})

describe('defineLearn: case ids and names', () => {
  const idsByQuery = (cases: { input: { customer_query: string } }[]) =>
    Object.fromEntries(define(withField('cases', cases)).cases.map((item) => [item.input.customer_query, item.id]))

  it('derives ids from the input, so they survive reordering', () => {
    const a = { input: { customer_query: 'a' } }
    const b = { input: { customer_query: 'b' } }
    expect(idsByQuery([a, b])).toEqual(idsByQuery([b, a]))
  })

  it('derives ids that do not depend on key order or on other fields of the case', () => {
    const twoFields = ax('customer_query:string, order_id:string -> polite_reply:string')
    const idOf = (item: Record<string, unknown>) => define({ ...validSpec(), program: twoFields, cases: [item] }).cases[0]!.id
    expect(idOf({ input: { customer_query: 'q', order_id: '1' } })).toBe(
      idOf({ input: { order_id: '1', customer_query: 'q' }, criteria: 'short', name: 'renamed' }),
    )
  })

  it('gives different inputs different ids of letters and digits', () => {
    const ids = define(validSpec()).cases.map((item) => item.id)
    expect(new Set(ids).size).toBe(2)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/)
  })

  it('keeps an explicit id', () => {
    const spec = define(withCases({ id: 'order-status.v2', input: { customer_query: 'Where is it?' } }))
    expect(spec.cases[0]!.id).toBe('order-status.v2')
  })

  it('names a case after its input by default', () => {
    expect(define(withCases({ input: { customer_query: 'hi' } })).cases[0]!.name).toBe('{"customer_query":"hi"}')
  })

  it('shortens a long input to at most 60 characters in the default name', () => {
    const name = define(withCases({ input: { customer_query: 'x'.repeat(200) } })).cases[0]!.name
    expect(name).toHaveLength(60)
    expect(name).toMatch(/^\{"customer_query":"x+\.\.\.$/)
  })

  it('keeps an explicit name', () => {
    expect(define(withCases({ name: 'order status', input: { customer_query: 'hi' } })).cases[0]!.name).toBe('order status')
  })
})

describe('redacting secrets from case names', () => {
  const key = 'sk-secret-0123456789abcdefghij'

  it('redacts a key from a default name before shortening it, so no part of the key is left', () => {
    // The key starts at character 30 and would be cut at 57: shortening first would leave 27 characters of it.
    const input = { customer_query: `my key is ${key} please` }
    expect(caseName(input)).toContain(key.slice(0, 20))
    const name = caseName(input, [key])
    expect(name).toBe('{"customer_query":"my key is [redacted] please"}')
  })

  it('redacts default and explicit names of a spec, leaving everything else as it was', () => {
    const spec = define(withCases({ input: { customer_query: `x ${key} ${'y'.repeat(80)}` } }, { name: `case with ${key}`, input: { customer_query: 'b' } }))
    const redacted = redactCaseNames(spec, [key])
    expect(redacted.cases.map((item) => item.name)).toEqual([`{"customer_query":"x [redacted] ${'y'.repeat(25)}...`, 'case with [redacted]'])
    expect(redacted.cases.map((item) => [item.id, item.input])).toEqual(spec.cases.map((item) => [item.id, item.input]))
    expect(spec.cases[1]!.name).toBe(`case with ${key}`)
  })
})
