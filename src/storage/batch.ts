/**
 * Collects the writes made in one turn of the event loop and hands them to `write` together, one
 * batch at a time and in order, so a later save of an id never lands before an earlier one.
 * Each add() resolves once its batch is written, and rejects with the batch's error.
 */
export class WriteBatcher<T> {
  readonly #write: (items: T[]) => Promise<void>
  #pending: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = []
  #scheduled = false
  #chain: Promise<void> = Promise.resolve()

  constructor(write: (items: T[]) => Promise<void>) {
    this.#write = write
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject })
      if (this.#scheduled) return
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        void this.flush()
      })
    })
  }

  /** Writes what is pending now; resolves when every write added before it has settled. */
  flush(): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      const batch = this.#pending.splice(0)
      if (batch.length === 0) return
      try {
        await this.#write(batch.map((entry) => entry.item))
        for (const entry of batch) entry.resolve()
      } catch (error) {
        for (const entry of batch) entry.reject(error)
      }
    })
    return this.#chain
  }
}
