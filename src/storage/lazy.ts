/** A connection made on first use; a failed attempt (missing package, server down) is retried by the next call. */
export class LazyConnection<T> {
  #value: Promise<T> | undefined

  constructor(private readonly connect: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.#value) {
      const attempt = this.connect()
      attempt.catch(() => {
        if (this.#value === attempt) this.#value = undefined
      })
      this.#value = attempt
    }
    return this.#value
  }

  /** The connection if one was made, without making one; undefined if it failed. */
  async made(): Promise<T | undefined> {
    return this.#value?.catch(() => undefined)
  }
}
