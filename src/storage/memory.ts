import {
  decodeCheckpoint,
  decodeTrace,
  encodeCheckpoint,
  encodeTrace,
  type EncodedCheckpoint,
  type EncodedTrace,
} from './codec.js'
import type { LearnStorage } from './index.js'
import { selectCheckpoints, selectTraces } from './query.js'
import type { AxStorageItem, AxStorageQuery } from './types.js'
import { checkItem, checkName, checkQuery, closedError } from './validate.js'

interface Stored {
  traces: Map<string, EncodedTrace>
  checkpoints: Map<number, EncodedCheckpoint>
}

/** Keeps everything in this process, as JSON, so callers never share objects with the store. */
export class AxMemoryStorage implements LearnStorage {
  readonly #names = new Map<string, Stored>()
  #closed = false

  async save(name: string, item: AxStorageItem): Promise<void> {
    if (this.#closed) throw closedError('memory')
    checkName(name)
    const valid = checkItem(item)
    let stored = this.#names.get(name)
    if (!stored) this.#names.set(name, (stored = { traces: new Map(), checkpoints: new Map() }))
    if (valid.type === 'trace') stored.traces.set(valid.id, encodeTrace(valid))
    else stored.checkpoints.set(valid.version, encodeCheckpoint(valid))
  }

  async load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]> {
    if (this.#closed) throw closedError('memory')
    checkName(name)
    const valid = checkQuery(query)
    const stored = this.#names.get(name)
    if (!stored) return []
    return valid.type === 'trace'
      ? selectTraces(stored.traces.values(), valid).map((row) => decodeTrace(row.json))
      : selectCheckpoints(stored.checkpoints.values(), valid).map((row) => decodeCheckpoint(row.json))
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true
    this.#names.clear()
  }
}
