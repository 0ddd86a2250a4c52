import { createHash } from 'node:crypto'

/** `JSON.stringify` of one value inside an object or array; undefined where JSON leaves it out. */
function write(value: unknown, key: string): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function')
    value = (value as { toJSON(key: string): unknown }).toJSON(key)
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let index = 0; index < value.length; index++) out += `${index > 0 ? ',' : ''}${write(value[index], String(index)) ?? 'null'}`
    return `${out}]`
  }
  let out = '{'
  for (const name of jsonKeyOrder(Object.keys(value).sort())) {
    const item = write((value as Record<string, unknown>)[name], name)
    if (item !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(name)}:${item}`
  }
  return `${out}}`
}

const isArrayIndex = (key: string): boolean => /^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1

/**
 * Sorted keys in the order JSON.stringify writes an object built from them: array-index keys
 * ("9", "10") first, by number, then the others as given. In sorted text the keys that start with a
 * digit come after those starting with "$", "-" or "." and before any letter, so when the first key
 * at or past "0" does not start with a digit there is nothing to move.
 */
function jsonKeyOrder(sorted: string[]): string[] {
  const first = sorted.find((key) => key.charCodeAt(0) >= 48)?.charCodeAt(0)
  if (first === undefined || first > 57) return sorted
  const indices = sorted.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b))
  return [...indices, ...sorted.filter((key) => !isArrayIndex(key))]
}

/**
 * JSON with object keys sorted and undefined dropped, so equal values always hash alike. Written
 * out in one pass, without the sorted copies a `JSON.stringify` replacer would build.
 */
export function stableStringify(value: unknown): string {
  return write(value, '') as string
}

export function hashOf(value: unknown, length = 16): string {
  return hashText(stableStringify(value), length)
}

export function hashText(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length)
}
