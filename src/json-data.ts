export interface NotJson {
  /** Where the value stops being JSON data, e.g. `cases[0].input.order.items[2]`. */
  path: string
  /** What was found there, e.g. `a function`. */
  found: string
}

function kindOf(value: unknown): string | undefined {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return 'a BigInt'
  if (typeof value === 'symbol') return 'a symbol'
  return undefined
}

const childPath = (parent: string, key: string, inArray: boolean) =>
  inArray ? `${parent}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`

/**
 * The first place where `value` is not JSON data that can be hashed and recorded: a function,
 * a BigInt, a symbol, or a reference back to an enclosing object. Walks with its own stack, so
 * neither a cycle nor a deep value can overflow the call stack.
 */
export function findNotJson(value: unknown, path: string): NotJson | undefined {
  const rootKind = kindOf(value)
  if (rootKind) return { path, found: rootKind }
  if (value === null || typeof value !== 'object') return undefined
  interface Frame {
    value: object
    path: string
    entries: Iterator<[string, unknown]>
  }
  /** The objects enclosing the current position, with their paths: meeting one again is a cycle. */
  const enclosing = new Map<object, string>([[value, path]])
  const stack: Frame[] = [{ value, path, entries: Object.entries(value)[Symbol.iterator]() }]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    const next = frame.entries.next()
    if (next.done) {
      enclosing.delete(frame.value)
      stack.pop()
      continue
    }
    const [key, child] = next.value
    const at = childPath(frame.path, key, Array.isArray(frame.value))
    const kind = kindOf(child)
    if (kind) return { path: at, found: kind }
    if (child === null || typeof child !== 'object') continue
    const earlier = enclosing.get(child)
    if (earlier !== undefined) return { path: at, found: `a circular reference back to ${earlier}` }
    enclosing.set(child, at)
    stack.push({ value: child, path: at, entries: Object.entries(child)[Symbol.iterator]() })
  }
  return undefined
}
