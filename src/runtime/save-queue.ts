import type { AxStorage, AxStorageItem } from '../storage/types.js'

export interface SaveQueueOptions {
  /** Saves waiting beyond this are dropped, oldest first, so a stalled store cannot grow memory. */
  maxPending?: number
  /** Called once for the first failure (and once for the first drop); later ones are counted. */
  onError: (error: unknown) => void
}

/**
 * Saves items to a store in the background, one at a time and in order, so the caller never
 * waits on a slow store and never sees its failures.
 */
export class SaveQueue {
  private readonly pending: { name: string; item: AxStorageItem }[] = []
  private draining: Promise<void> | undefined
  private readonly reported = new Set<'failure' | 'drop'>()
  failures = 0
  dropped = 0

  constructor(
    private readonly storage: AxStorage,
    private readonly options: SaveQueueOptions,
  ) {}

  push(name: string, item: AxStorageItem): void {
    const maxPending = this.options.maxPending ?? 1000
    if (this.pending.length >= maxPending) {
      this.pending.shift()
      this.dropped++
      this.report('drop', new Error(`storage is falling behind: dropped the oldest unsaved trace (more than ${maxPending} waiting)`))
    }
    this.pending.push({ name, item })
    this.draining ??= this.drain()
  }

  /** Resolves when everything pushed so far has been saved (or has failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining
  }

  private report(kind: 'failure' | 'drop', error: unknown): void {
    if (this.reported.has(kind)) return
    this.reported.add(kind)
    this.options.onError(error)
  }

  private async drain(): Promise<void> {
    // Run after the caller's current task, so push() never does storage work synchronously.
    await Promise.resolve()
    for (let next = this.pending.shift(); next; next = this.pending.shift()) {
      try {
        await this.storage.save(next.name, next.item)
      } catch (error) {
        this.failures++
        this.report('failure', error)
      }
    }
    this.draining = undefined
  }
}
