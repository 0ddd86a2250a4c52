import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LearnError } from '../../src/errors.js'
import type { AxCheckpoint, AxStorageItem, AxStorageQuery, AxTrace, LearnStorage } from '../../src/storage/index.js'
import { at, makeCheckpoint, makeTrace, T0 } from './support/traces.js'

// One suite, run against every adapter (see storage.test.ts): it pins the semantics they share.

export interface StorageFixture {
  storage: LearnStorage
  /** A new instance over the same data; absent where nothing outlives the instance (memory). */
  reopen?: () => Promise<LearnStorage>
  /** Closes every instance this fixture made and deletes its data. */
  cleanup: () => Promise<void>
}

export type StorageFactory = () => Promise<StorageFixture>

export { makeCheckpoint, makeTrace, T0 } from './support/traces.js'

/** Reference order for ids: compare arrays of code points (not UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number)
  const y = Array.from(b, (c) => c.codePointAt(0) as number)
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  return x.length - y.length
}

const ids = (items: AxStorageItem[]) => items.map((item) => (item.type === 'trace' ? item.id : item.version))

async function expectLearnError(promise: Promise<unknown>, field: string): Promise<LearnError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error, `expected a LearnError naming ${field}`).toBeInstanceOf(LearnError)
  const learnError = error as LearnError
  expect(learnError.field).toBe(field)
  expect(learnError.message).toContain(field)
  return learnError
}

/** `skip`: why this adapter cannot run here; the suite then shows as skipped, with the reason in its title. */
export function testStorage(name: string, factory: StorageFactory, options: { skip?: string } = {}): void {
  const title = `storage conformance: ${name}${options.skip ? ` (skipped: ${options.skip})` : ''}`
  describe.skipIf(options.skip !== undefined)(title, () => {
    let fixture: StorageFixture | undefined
    let storage: LearnStorage
    const N = 'support-chat'

    beforeEach(async () => {
      fixture = await factory()
      storage = fixture.storage
    })
    afterEach(async () => {
      await fixture?.cleanup()
      fixture = undefined
    })

    const traces = (query: Partial<AxStorageQuery> = {}, name = N) =>
      storage.load(name, { type: 'trace', ...query }) as Promise<AxTrace[]>
    const checkpoints = (query: Partial<AxStorageQuery> = {}, name = N) =>
      storage.load(name, { type: 'checkpoint', ...query }) as Promise<AxCheckpoint[]>

    describe('round trips', () => {
      it('returns a trace with every field exactly as saved', async () => {
        const trace = makeTrace('full', {
          input: { customer_query: 'Where is my order?', nested: { list: [1, 'two', null, true, { deep: 1.5 }] } },
          output: { polite_reply: 'It ships today.', confidence: 0.93 },
          model: 'gpt-4o-mini',
          usage: { promptTokens: 120, completionTokens: 30, totalTokens: 150 },
          feedback: { score: 0.8, label: 'good', comment: 'clear' },
          error: 'rate limited, retried',
          metadata: { requestId: 'r-1', tags: ['a', 'b'], case: 'c-1', score: 0.5, reasons: 'fine' },
        })
        await storage.save(N, trace)
        const [loaded] = await traces()
        expect(loaded).toStrictEqual(trace)
      })

      it('returns a minimal trace without adding fields', async () => {
        const trace = makeTrace('minimal')
        await storage.save(N, trace)
        const [loaded] = await traces()
        expect(loaded).toStrictEqual(trace)
        expect(Object.keys(loaded as object).sort()).toEqual(Object.keys(trace).sort())
      })

      it('keeps metadata that only looks like a test-run line field', async () => {
        const weird = makeTrace('weird', { metadata: { score: 7, case: 3, reasons: null } })
        const empty = makeTrace('empty', { metadata: {}, feedback: {} })
        await Promise.all([storage.save(N, weird), storage.save(N, empty)])
        expect(await traces({ id: 'weird' })).toStrictEqual([weird])
        expect(await traces({ id: 'empty' })).toStrictEqual([empty])
      })

      it('returns checkpoints exactly as saved, whatever their metadata', async () => {
        const full = makeCheckpoint(3, {
          instruction: 'Reply politely.',
          examples: [{ customer_query: 'Hi', polite_reply: 'Hello!' }],
          score: 0.91,
          optimizerType: 'gepa',
          metadata: {
            parent: 1,
            baseline: { mean: 0.9, scores: { 'case-1': 0.9 } },
            hashes: { spec: 'abc', judge: 'def' },
            cost: { usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 }, usd: 0.12, calls: 3 },
            optimizerStats: { rounds: 4, accepted: [1, 3] },
            componentMap: { 'root::instruction': 'Reply politely.' },
            modelConfig: { temperature: 0.2 },
            demos: [{ programId: 'judge', traces: [{ a: 1 }] }],
            note: 'anything else',
          },
        })
        const oddShapes = makeCheckpoint(2, {
          metadata: {
            cost: 1.23,
            baseline: 'none',
            hashes: { spec: 1 },
            optimizerStats: { a: 1 },
            parent: 'v1',
            demos: [{ programId: 'root', traces: [] }],
          },
        })
        const defaultParent = makeCheckpoint(4, { metadata: { parent: 3 } })
        const emptyMetadata = makeCheckpoint(5, { metadata: {}, examples: [] })
        const minimal = makeCheckpoint(1)
        for (const checkpoint of [full, oddShapes, defaultParent, emptyMetadata, minimal]) await storage.save(N, checkpoint)
        const loaded = await checkpoints()
        expect(loaded).toStrictEqual([emptyMetadata, defaultParent, full, oddShapes, minimal])
      })

      it('keeps Dates exact to the millisecond and returns Date objects', async () => {
        const start = new Date('2024-02-29T23:59:59.999Z')
        const trace = makeTrace('dates', { startTime: start, endTime: new Date('2024-03-01T00:00:00.001Z'), durationMs: 2 })
        const checkpoint = makeCheckpoint(1, { createdAt: new Date('1999-12-31T23:59:59.123Z') })
        const early = makeTrace('early', {
          startTime: new Date('0001-01-01T00:00:00.000Z'),
          endTime: new Date('9999-12-31T23:59:59.999Z'),
        })
        await Promise.all([storage.save(N, trace), storage.save(N, checkpoint), storage.save(N, early)])
        const [loaded] = await traces({ id: 'dates' })
        expect(loaded?.startTime).toBeInstanceOf(Date)
        expect(loaded?.startTime.getTime()).toBe(start.getTime())
        expect(loaded?.endTime.toISOString()).toBe('2024-03-01T00:00:00.001Z')
        const [loadedCheckpoint] = await checkpoints()
        expect(loadedCheckpoint?.createdAt).toBeInstanceOf(Date)
        expect(loadedCheckpoint?.createdAt.toISOString()).toBe('1999-12-31T23:59:59.123Z')
        expect(await traces({ id: 'early' })).toStrictEqual([early])
      })

      it('stores unicode text unchanged, in names, ids and payloads', async () => {
        const text = 'Grüße, 日本語, עברית, 👩‍👩‍👧 \u2028\u2029 line\nbreak "quotes" \\ back\tslash \u0000 nul, lone \uD800 surrogate'
        const unicodeName = 'spec-ñ-日本-🚀'
        const trace = makeTrace('trace-ü-日本-👍', {
          name: unicodeName,
          input: { [`ключ-${text}`]: text },
          output: { reply: text },
          feedback: { comment: text, label: '✓' },
          metadata: { text },
        })
        await storage.save(unicodeName, trace)
        await storage.save(unicodeName, makeCheckpoint(1, { name: unicodeName, instruction: text, examples: [{ text }] }))
        expect(await traces({}, unicodeName)).toStrictEqual([trace])
        expect(await traces({ id: 'trace-ü-日本-👍' }, unicodeName)).toHaveLength(1)
        expect((await checkpoints({}, unicodeName))[0]?.instruction).toBe(text)
      })

      it('stores a 1 MB input', async () => {
        const big = 'x'.repeat(512 * 1024) + '日本語'.repeat(60 * 1024)
        expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024)
        const trace = makeTrace('big', { input: { document: big }, output: { summary: big.slice(0, 1000) } })
        await storage.save(N, trace)
        await storage.save(N, makeTrace('small'))
        const [loaded] = await traces({ id: 'big' })
        expect(loaded?.input.document).toBe(big)
        expect(loaded).toStrictEqual(trace)
      })

      it('returns copies: changing a saved or loaded item leaves the store as it was', async () => {
        const trace = makeTrace('copy', { input: { list: [1] } })
        await storage.save(N, trace)
        ;(trace.input.list as number[]).push(2)
        const [first] = await traces()
        expect(first?.input.list).toEqual([1])
        ;(first?.input.list as number[]).push(3)
        first?.startTime.setTime(0)
        const [second] = await traces()
        expect(second?.input.list).toEqual([1])
        expect(second?.startTime.getTime()).toBe(T0)
      })
    })

    describe('queries', () => {
      it('returns only items of the queried type', async () => {
        await Promise.all([storage.save(N, makeTrace('t1')), storage.save(N, makeCheckpoint(1))])
        expect(ids(await traces())).toEqual(['t1'])
        expect(ids(await checkpoints())).toEqual([1])
        expect(await storage.load('never-saved', { type: 'trace' })).toEqual([])
        expect(await storage.load('never-saved', { type: 'checkpoint' })).toEqual([])
      })

      it('orders traces newest first by startTime, ties by id in code point order', async () => {
        const tied = ['b', 'B', 'a', '\u{1F600}', '\uFF5E', 'a\u0301', 'ab', '10', '9']
        await Promise.all([
          storage.save(N, makeTrace('oldest', { startTime: at(-5000) })),
          storage.save(N, makeTrace('newest', { startTime: at(5000) })),
          ...tied.map((id) => storage.save(N, makeTrace(id))),
        ])
        expect(ids(await traces())).toEqual(['newest', ...[...tied].sort(byCodePoint), 'oldest'])
      })

      it('orders checkpoints highest version first', async () => {
        for (const version of [2, 10, 1, 3]) await storage.save(N, makeCheckpoint(version, { createdAt: at(-version) }))
        expect(ids(await checkpoints())).toEqual([10, 3, 2, 1])
      })

      it('bounds traces by startTime with inclusive since and until', async () => {
        await Promise.all(
          [0, 1000, 2000, 3000, 4000].map((offset) => storage.save(N, makeTrace(`t${offset}`, { startTime: at(offset) }))),
        )
        expect(ids(await traces({ since: at(1000) }))).toEqual(['t4000', 't3000', 't2000', 't1000'])
        expect(ids(await traces({ until: at(3000) }))).toEqual(['t3000', 't2000', 't1000', 't0'])
        expect(ids(await traces({ since: at(1000), until: at(3000) }))).toEqual(['t3000', 't2000', 't1000'])
        expect(ids(await traces({ since: at(1001), until: at(2999) }))).toEqual(['t2000'])
        expect(ids(await traces({ since: at(2000), until: at(2000) }))).toEqual(['t2000'])
        expect(await traces({ since: at(3000), until: at(1000) })).toEqual([])
        // endTime is not what the bounds look at
        expect(ids(await traces({ until: at(0) }))).toEqual(['t0'])
      })

      it('bounds checkpoints by createdAt with inclusive since and until', async () => {
        for (const version of [1, 2, 3, 4]) await storage.save(N, makeCheckpoint(version))
        expect(ids(await checkpoints({ since: at(2000) }))).toEqual([4, 3, 2])
        expect(ids(await checkpoints({ until: at(2000) }))).toEqual([2, 1])
        expect(ids(await checkpoints({ since: at(2000), until: at(3000) }))).toEqual([3, 2])
      })

      it('applies offset and limit after filtering and ordering', async () => {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            storage.save(
              N,
              makeTrace(`t${i}`, { startTime: at(i * 1000), ...(i % 2 === 0 ? { feedback: { score: i / 10 } } : {}) }),
            ),
          ),
        )
        expect(ids(await traces({ limit: 3 }))).toEqual(['t9', 't8', 't7'])
        expect(ids(await traces({ offset: 8 }))).toEqual(['t1', 't0'])
        expect(ids(await traces({ offset: 2, limit: 3 }))).toEqual(['t7', 't6', 't5'])
        expect(ids(await traces({ hasFeedback: true, offset: 1, limit: 2 }))).toEqual(['t6', 't4'])
        expect(ids(await traces({ since: at(3000), offset: 5, limit: 10 }))).toEqual(['t4', 't3'])
        expect(await traces({ limit: 0 })).toEqual([])
        expect(await traces({ offset: 10 })).toEqual([])
        expect(await traces({ offset: 100, limit: 5 })).toEqual([])
        for (const version of [1, 2, 3, 4, 5]) await storage.save(N, makeCheckpoint(version))
        expect(ids(await checkpoints({ offset: 1, limit: 2 }))).toEqual([4, 3])
        expect(ids(await checkpoints({ since: at(2000), limit: 1 }))).toEqual([5])
      })

      it('filters traces by id and checkpoints by version', async () => {
        await Promise.all([makeTrace('a'), makeTrace('b'), makeTrace('c')].map((trace) => storage.save(N, trace)))
        for (const version of [1, 2, 3]) await storage.save(N, makeCheckpoint(version))
        expect(ids(await traces({ id: 'b' }))).toEqual(['b'])
        expect(await traces({ id: 'missing' })).toEqual([])
        expect(await traces({ id: 'b', since: at(1) })).toEqual([])
        expect(ids(await checkpoints({ version: 2 }))).toEqual([2])
        expect(await checkpoints({ version: 7 })).toEqual([])
      })

      it('filters traces by whether they have feedback (an empty feedback object counts)', async () => {
        await Promise.all([
          storage.save(N, makeTrace('none', { startTime: at(3) })),
          storage.save(N, makeTrace('scored', { startTime: at(2), feedback: { score: 1 } })),
          storage.save(N, makeTrace('empty', { startTime: at(1), feedback: {} })),
          storage.save(N, makeTrace('comment', { startTime: at(0), feedback: { comment: 'too long' } })),
        ])
        expect(ids(await traces({ hasFeedback: true }))).toEqual(['scored', 'empty', 'comment'])
        expect(ids(await traces({ hasFeedback: false }))).toEqual(['none'])
        expect(ids(await traces({ hasFeedback: true, since: at(1), until: at(1) }))).toEqual(['empty'])
      })

      it('accepts query fields set to undefined as absent', async () => {
        await storage.save(N, makeTrace('a'))
        const query: AxStorageQuery = {
          type: 'trace',
          since: undefined,
          limit: undefined,
          id: undefined,
          hasFeedback: undefined,
          version: undefined,
        }
        expect(ids(await storage.load(N, query))).toEqual(['a'])
      })
    })

    describe('upserts', () => {
      it('replaces a trace saved again with the same id, as feedback updates do', async () => {
        const trace = makeTrace('t1', { startTime: at(0) })
        await Promise.all([storage.save(N, trace), storage.save(N, makeTrace('t2', { startTime: at(1000) }))])
        const [loaded] = await traces({ id: 't1' })
        expect(loaded?.feedback).toBeUndefined()
        if (!loaded) throw new Error('unreachable')
        loaded.feedback = { score: 1, label: 'helpful', comment: 'great answer' }
        await storage.save(N, loaded)
        expect(ids(await traces())).toEqual(['t2', 't1'])
        expect(await traces({ id: 't1' })).toStrictEqual([
          { ...trace, feedback: { score: 1, label: 'helpful', comment: 'great answer' } },
        ])
        expect(ids(await traces({ hasFeedback: true }))).toEqual(['t1'])
        expect(ids(await traces({ hasFeedback: false }))).toEqual(['t2'])
        // a changed startTime moves it, and removing the feedback counts too
        await storage.save(N, { ...trace, startTime: at(2000) })
        expect(ids(await traces())).toEqual(['t1', 't2'])
        expect(await traces({ hasFeedback: true })).toEqual([])
      })

      it('keeps the last of several saves of one id made together', async () => {
        await Promise.all([1, 2, 3].map((score) => storage.save(N, makeTrace('same', { feedback: { score } }))))
        expect(await traces()).toStrictEqual([makeTrace('same', { feedback: { score: 3 } })])
      })

      it('replaces a checkpoint saved again with the same version', async () => {
        await storage.save(N, makeCheckpoint(1, { instruction: 'first' }))
        await storage.save(N, makeCheckpoint(2, { instruction: 'second' }))
        await storage.save(N, makeCheckpoint(1, { instruction: 'first, revised', score: 0.7 }))
        expect(await checkpoints()).toStrictEqual([
          makeCheckpoint(2, { instruction: 'second' }),
          makeCheckpoint(1, { instruction: 'first, revised', score: 0.7 }),
        ])
      })
    })

    describe('concurrency and lifetime', () => {
      it('loses nothing in 1,000 concurrent saves, nor in 1,000 concurrent updates of them', async () => {
        const all = Array.from({ length: 1000 }, (_, i) => makeTrace(`c${String(i).padStart(4, '0')}`, { startTime: at(i) }))
        await Promise.all(all.map((trace) => storage.save(N, trace)))
        const loaded = await traces()
        expect(loaded).toHaveLength(1000)
        expect(ids(loaded)).toEqual(all.map((trace) => trace.id).reverse())
        await Promise.all(all.map((trace, i) => storage.save(N, { ...trace, feedback: { score: i / 1000 } })))
        const updated = await traces({ hasFeedback: true })
        expect(updated).toHaveLength(1000)
        expect(updated.find((trace) => trace.id === 'c0500')?.feedback).toEqual({ score: 0.5 })
        expect(await traces({ hasFeedback: false })).toEqual([])
      })

      it('sees saves that were not awaited yet', async () => {
        const pending = [storage.save(N, makeTrace('unawaited')), storage.save(N, makeCheckpoint(1))]
        expect(ids(await traces())).toEqual(['unawaited'])
        expect(ids(await checkpoints())).toEqual([1])
        await Promise.all(pending)
      })

      it('keeps names apart', async () => {
        await Promise.all([
          storage.save('alpha', makeTrace('shared', { name: 'alpha', output: { from: 'alpha' } })),
          storage.save('beta', makeTrace('shared', { name: 'beta', output: { from: 'beta' } })),
          storage.save('alpha', makeCheckpoint(1, { name: 'alpha', instruction: 'alpha' })),
          storage.save('beta', makeCheckpoint(1, { name: 'beta', instruction: 'beta' })),
          storage.save('alphabet', makeTrace('other', { name: 'alphabet' })),
        ])
        expect((await traces({}, 'alpha')).map((trace) => trace.output)).toEqual([{ from: 'alpha' }])
        expect((await traces({}, 'beta')).map((trace) => trace.output)).toEqual([{ from: 'beta' }])
        expect((await checkpoints({}, 'beta')).map((checkpoint) => checkpoint.instruction)).toEqual(['beta'])
        expect(ids(await traces({}, 'alphabet'))).toEqual(['other'])
        expect(await traces({}, 'Alpha')).toEqual([])
      })

      it('a reopened store sees everything written before', async (context) => {
        if (!fixture?.reopen) return context.skip('nothing outlives this adapter instance')
        const trace = makeTrace('kept', { feedback: { score: 1 } })
        await storage.save(N, trace)
        await storage.save(N, makeCheckpoint(1, { instruction: 'v1' }))
        const unawaited = storage.save(N, makeTrace('unawaited', { startTime: at(-1) }))
        await storage.close()
        await unawaited
        const reopened = await fixture.reopen()
        expect(await reopened.load(N, { type: 'trace' })).toStrictEqual([trace, makeTrace('unawaited', { startTime: at(-1) })])
        expect(await reopened.load(N, { type: 'checkpoint' })).toStrictEqual([makeCheckpoint(1, { instruction: 'v1' })])
        await reopened.save(N, makeTrace('after'))
        expect(await reopened.load(N, { type: 'trace', id: 'after' })).toHaveLength(1)
      })

      it('rejects calls after close with a clear error', async () => {
        await storage.close()
        await storage.close()
        await expect(storage.save(N, makeTrace('late'))).rejects.toThrow(/closed/)
        await expect(storage.load(N, { type: 'trace' })).rejects.toThrow(/closed/)
      })
    })

    describe('limits every adapter shares', () => {
      it('keeps ids up to 1,024 bytes and names up to 255 bytes of UTF-8', async () => {
        const name = 'n'.repeat(255)
        const longest = [makeTrace('x'.repeat(1024), { name }), makeTrace('é'.repeat(512), { name, startTime: at(1) })]
        for (const trace of longest) await storage.save(name, trace)
        expect(await traces({}, name)).toStrictEqual([...longest].reverse())
        expect(ids(await traces({ id: 'x'.repeat(1024) }, name))).toEqual(['x'.repeat(1024)])
      })

      it('rejects a 5,000-character id in a query with the same error as in a save', async () => {
        const error = await expectLearnError(storage.load(N, { type: 'trace', id: 'x'.repeat(5000) }), 'query.id')
        expect(error.message).toContain('at most 1024 bytes')
      })

      it('keeps checkpoint versions above 2^31, up to Number.MAX_SAFE_INTEGER', async () => {
        const versions = [2 ** 31 - 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]
        for (const version of versions) await storage.save(N, makeCheckpoint(version, { createdAt: at(1000) }))
        expect(ids(await checkpoints())).toEqual([...versions].reverse())
        expect(await checkpoints({ version: 2 ** 40 })).toStrictEqual([makeCheckpoint(2 ** 40, { createdAt: at(1000) })])
        await expectLearnError(storage.save(N, makeCheckpoint(Number.MAX_SAFE_INTEGER + 1)), 'checkpoint.version')
      })
    })

    describe('validation', () => {
      const badQueries: [string, unknown, string][] = [
        ['no query', undefined, 'query'],
        ['no type', {}, 'query.type'],
        ['an unknown type', { type: 'traces' }, 'query.type'],
        ['a negative limit', { type: 'trace', limit: -1 }, 'query.limit'],
        ['a fractional limit', { type: 'trace', limit: 1.5 }, 'query.limit'],
        ['a string limit', { type: 'trace', limit: '10' }, 'query.limit'],
        ['a negative offset', { type: 'checkpoint', offset: -1 }, 'query.offset'],
        ['an invalid since', { type: 'trace', since: new Date('nope') }, 'query.since'],
        ['a string since', { type: 'trace', since: '2024-01-01' }, 'query.since'],
        ['a number until', { type: 'trace', until: 1_700_000_000_000 }, 'query.until'],
        ['an empty id', { type: 'trace', id: '' }, 'query.id'],
        ['version 0', { type: 'checkpoint', version: 0 }, 'query.version'],
        ['a fractional version', { type: 'checkpoint', version: 1.5 }, 'query.version'],
        ['a non-boolean hasFeedback', { type: 'trace', hasFeedback: 'yes' }, 'query.hasFeedback'],
        ['version on a trace query', { type: 'trace', version: 1 }, 'query.version'],
        ['id on a checkpoint query', { type: 'checkpoint', id: 'x' }, 'query.id'],
        ['hasFeedback on a checkpoint query', { type: 'checkpoint', hasFeedback: true }, 'query.hasFeedback'],
        ['a misspelled field', { type: 'trace', limt: 3 }, 'query.limt'],
      ]
      it.each(badQueries)('rejects a query with %s', async (_, query, field) => {
        await expectLearnError(storage.load(N, query as AxStorageQuery), field)
      })

      it('rejects bad names', async () => {
        for (const name of ['', '..', 'a/b', 'a\\b', 'tab\there', 42, 'n'.repeat(256), 'é'.repeat(128)]) {
          await expectLearnError(storage.load(name as string, { type: 'trace' }), 'name')
          await expectLearnError(storage.save(name as string, makeTrace('x')), 'name')
        }
      })

      const circular: Record<string, unknown> = {}
      circular.self = circular
      const badItems: [string, unknown, string][] = [
        ['no item', null, 'item'],
        ['an unknown type', { ...makeTrace('x'), type: 'span' }, 'item.type'],
        ['an empty id', makeTrace(''), 'trace.id'],
        ['a 5,000-character id', makeTrace('x'.repeat(5000)), 'trace.id'],
        ['an id over 1,024 bytes of UTF-8', makeTrace('é'.repeat(513)), 'trace.id'],
        ['a numeric id', makeTrace(7 as unknown as string), 'trace.id'],
        ['an empty name', makeTrace('x', { name: '' }), 'trace.name'],
        ['an invalid startTime', makeTrace('x', { startTime: new Date(Number.NaN) }), 'trace.startTime'],
        ['a string startTime', makeTrace('x', { startTime: '2024-01-01T00:00:00Z' as unknown as Date }), 'trace.startTime'],
        ['an endTime after the year 9999', makeTrace('x', { endTime: new Date(Date.UTC(10000, 0, 1)) }), 'trace.endTime'],
        ['a negative durationMs', makeTrace('x', { durationMs: -1 }), 'trace.durationMs'],
        ['an array input', makeTrace('x', { input: [] as unknown as Record<string, unknown> }), 'trace.input'],
        ['a null output', makeTrace('x', { output: null as unknown as Record<string, unknown> }), 'trace.output'],
        [
          'negative usage',
          makeTrace('x', { usage: { promptTokens: -1, completionTokens: 0, totalTokens: 0 } }),
          'trace.usage.promptTokens',
        ],
        ['incomplete usage', makeTrace('x', { usage: { promptTokens: 1 } as never }), 'trace.usage.completionTokens'],
        ['a NaN feedback score', makeTrace('x', { feedback: { score: Number.NaN } }), 'trace.feedback.score'],
        ['an unknown feedback field', makeTrace('x', { feedback: { rating: 5 } as never }), 'trace.feedback.rating'],
        ['an unknown trace field', { ...makeTrace('x'), extra: 1 }, 'trace.extra'],
        ['a BigInt in input', makeTrace('x', { input: { n: 1n } }), 'trace.input'],
        ['a cycle in metadata', makeTrace('x', { metadata: circular }), 'trace.metadata'],
        ['version 0', makeCheckpoint(0), 'checkpoint.version'],
        ['a fractional version', makeCheckpoint(1.5), 'checkpoint.version'],
        ['an invalid createdAt', makeCheckpoint(1, { createdAt: new Date('x') }), 'checkpoint.createdAt'],
        ['examples that are not objects', makeCheckpoint(1, { examples: [1] as never }), 'checkpoint.examples[0]'],
        ['a numeric instruction', makeCheckpoint(1, { instruction: 5 as never }), 'checkpoint.instruction'],
        ['a cycle in checkpoint metadata', makeCheckpoint(1, { metadata: circular }), 'checkpoint.metadata'],
      ]
      it.each(badItems)('rejects an item with %s, storing nothing', async (_, item, field) => {
        await expectLearnError(storage.save(N, item as AxStorageItem), field)
        expect(await traces()).toEqual([])
        expect(await checkpoints()).toEqual([])
      })

      it('a rejected save does not disturb the saves around it', async () => {
        const results = await Promise.allSettled([
          storage.save(N, makeTrace('before')),
          storage.save(N, makeTrace('')),
          storage.save(N, makeTrace('after')),
        ])
        expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        expect(ids(await traces()).sort()).toEqual(['after', 'before'])
      })
    })
  })
}
