import { redact } from '../redact.js'

/** Request headers that carry a provider's credentials, as ax sends them (OpenAI, Anthropic, Gemini, Azure, ...). */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|x-api-key|api-key|x-goog-api-key)$/i

interface HeaderSource {
  headers?: unknown
  ai?: unknown
}

/**
 * The credentials an ax service sends, so they can be kept out of what is stored. ax 24 keeps
 * them in a provider's `headers()` (AxBaseAI), which ai() wraps in `ai`; a service of another
 * shape yields none, and the caller's explicit `secrets` still apply.
 */
export async function credentialsOf(service: unknown): Promise<string[]> {
  const found: string[] = []
  for (let source = service as HeaderSource | undefined, depth = 0; source && typeof source === 'object' && depth < 3; depth++) {
    if (typeof source.headers === 'function') {
      const headers: unknown = await Promise.resolve()
        .then(() => (source as { headers: () => unknown }).headers())
        .catch(() => undefined)
      if (headers && typeof headers === 'object') {
        for (const [name, value] of Object.entries(headers)) {
          if (CREDENTIAL_HEADER.test(name) && typeof value === 'string') found.push(value.replace(/^(bearer|basic)\s+/i, ''))
        }
      }
    }
    source = source.ai as HeaderSource | undefined
  }
  return found
}

/**
 * A copy of `value` with the secrets replaced in every string (object keys too). Dates and other
 * objects are kept as they are, and so is a cycle, which the store then rejects by name.
 */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value
  const path = new Set<object>()
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redact(item, secrets)
    const plain = Array.isArray(item) || (item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype)
    if (!plain || path.has(item as object)) return item
    path.add(item as object)
    const copy = Array.isArray(item)
      ? item.map(walk)
      : Object.fromEntries(Object.entries(item as object).map(([key, entry]) => [redact(key, secrets), walk(entry)]))
    path.delete(item as object)
    return copy
  }
  return walk(value) as T
}
