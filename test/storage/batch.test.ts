import { describe, expect, it } from 'vitest'
import { WriteBatcher } from '../../src/storage/batch.js'

describe('WriteBatcher', () => {
  it('hands the writes of one turn of the event loop to one call, in order', async () => {
    const calls: number[][] = []
    const batcher = new WriteBatcher<number>(async (items) => void calls.push(items))
    await Promise.all([1, 2, 3].map((n) => batcher.add(n)))
    await batcher.add(4)
    expect(calls).toEqual([[1, 2, 3], [4]])
  })

  it('writes one batch at a time, collecting what arrives meanwhile into the next', async () => {
    const calls: number[][] = []
    let running = 0
    const batcher = new WriteBatcher<number>(async (items) => {
      expect(++running).toBe(1)
      calls.push(items)
      await new Promise((resolve) => setTimeout(resolve, 20))
      running--
    })
    const first = batcher.add(1)
    await new Promise((resolve) => setImmediate(resolve))
    const rest = [2, 3].map((n) => batcher.add(n))
    await Promise.all([first, ...rest])
    expect(calls).toEqual([[1], [2, 3]])
  })

  it('rejects every write of a failed batch, and goes on with the next', async () => {
    let fail = true
    const batcher = new WriteBatcher<number>(async () => {
      if (fail) throw new Error('disk full')
    })
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    fail = false
    await expect(batcher.add(3)).resolves.toBeUndefined()
  })

  it('flush() writes what is pending without waiting for the next turn', async () => {
    const written: number[] = []
    const batcher = new WriteBatcher<number>(async (items) => void written.push(...items))
    void batcher.add(1)
    await batcher.flush()
    expect(written).toEqual([1])
  })
})
