/**
 * Runs at most `concurrency` tasks at a time; the others wait in order. Background tasks only take
 * a slot no foreground task is waiting for, so they fill idle slots without delaying the rest.
 */
export type Limiter = <T>(task: () => Promise<T>, priority?: 'foreground' | 'background') => Promise<T>

export function createLimiter(concurrency: number): Limiter {
  const slots = Math.max(1, Math.floor(concurrency))
  let active = 0
  const waiting = { foreground: [] as (() => void)[], background: [] as (() => void)[] }
  return async (task, priority = 'foreground') => {
    if (active < slots) active++
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    else await new Promise<void>((resolve) => waiting[priority].push(resolve))
    try {
      return await task()
    } finally {
      const next = waiting.foreground.shift() ?? waiting.background.shift()
      if (next) next()
      else active--
    }
  }
}
