/** How one model call is retried: `learn({ retry })` for every model, or `retry` in one model's `ai()` arguments. */
export interface RetrySettings {
  /** Requests one call may make, the first included. Default 5. */
  maxAttempts?: number
  /** Time one call may take, its retries and waits included, in ms. Default 60 000. */
  totalTimeoutMs?: number
  /** Time one request may take before it is abandoned and retried, in ms. Default 30 000. */
  attemptTimeoutMs?: number
}

export const defaultRetrySettings: Readonly<Required<RetrySettings>> = {
  maxAttempts: 5,
  totalTimeoutMs: 60_000,
  attemptTimeoutMs: 30_000,
}

const firstBackoffMs = 500
const maxBackoffMs = 8_000

const settingNames = Object.keys(defaultRetrySettings) as (keyof RetrySettings)[]

/** What is wrong with a `retry` setting, or undefined when it is valid. */
export function retrySettingsProblem(value: unknown): { setting?: string; message: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { message: `must be { ${settingNames.map((name) => `${name}?`).join(', ')} }` }
  for (const [setting, number] of Object.entries(value)) {
    if (!(settingNames as string[]).includes(setting))
      return { setting, message: `unknown setting "${setting}"; the settings are ${settingNames.join(', ')}` }
    if (number === undefined) continue
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1)
      return { setting, message: `must be a whole number >= 1${setting === 'maxAttempts' ? '' : ' (milliseconds)'}` }
  }
  return undefined
}

/** Settings with the defaults filled in; later sources win. */
export function retrySettings(...sources: (RetrySettings | undefined)[]): Required<RetrySettings> {
  const settings = { ...defaultRetrySettings }
  for (const source of sources)
    for (const name of settingNames) {
      const value = source?.[name]
      if (value !== undefined) settings[name] = value
    }
  return settings
}

/** The wait before the next attempt: what the server asked for, else exponential backoff with jitter. */
export function retryDelay(failedAttempts: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs
  const ceiling = Math.min(maxBackoffMs, firstBackoffMs * 2 ** (failedAttempts - 1))
  return ceiling / 2 + (Math.random() * ceiling) / 2
}

/** A `Retry-After` header (seconds, or an HTTP date) in ms. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
