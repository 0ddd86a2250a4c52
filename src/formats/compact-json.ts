/**
 * Plain JSON data pretty-printed two spaces deep, where an object or array that fits on its line
 * within `width` columns stays on one line: `{"role": "user", "content": "Hi"}`. The same value
 * always prints the same text (json-stringify-pretty-compact's layout), in time linear in its size.
 */
export function compactJson(value: unknown, width: number): string {
  return new CompactPrinter(width).print(value, '', 0)
}

const scalar = (value: unknown) => JSON.stringify(value) ?? 'null'

/** Members as JSON writes them: object keys whose value is not undefined, or array items. */
function members(value: object): [key: string | undefined, item: unknown][] {
  if (Array.isArray(value)) return value.map((item) => [undefined, item])
  return Object.entries(value).filter(([, item]) => item !== undefined)
}

class CompactPrinter {
  /** One-line lengths of the objects measured so far, capped just past the width. */
  private readonly lengths = new Map<object, number>()

  constructor(private readonly width: number) {}

  /** The value's length on one line, or more than the width when it is longer. */
  private length(value: unknown): number {
    if (typeof value === 'string' && value.length + 2 > this.width) return this.width + 1
    if (value === null || typeof value !== 'object') return scalar(value).length
    let length = this.lengths.get(value)
    if (length !== undefined) return length
    const list = members(value)
    length = 2 + Math.max(0, list.length - 1) * 2
    for (const [key, item] of list) {
      if (length > this.width) break
      length += (key === undefined ? 0 : JSON.stringify(key).length + 2) + this.length(item)
    }
    length = Math.min(length, this.width + 1)
    this.lengths.set(value, length)
    return length
  }

  private oneLine(value: unknown): string {
    if (value === null || typeof value !== 'object') return scalar(value)
    const items = members(value).map(([key, item]) => (key === undefined ? '' : `${JSON.stringify(key)}: `) + this.oneLine(item))
    return Array.isArray(value) ? `[${items.join(', ')}]` : `{${items.join(', ')}}`
  }

  /** `reserved`: columns taken on the value's lines besides the indent (its key before it, a comma after it). */
  print(value: unknown, indent: string, reserved: number): string {
    if (value === null || typeof value !== 'object' || this.length(value) <= this.width - indent.length - reserved) return this.oneLine(value)
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
    const list = members(value)
    if (list.length === 0) return `${open}${close}`
    const inner = `${indent}  `
    const lines = list.map(([key, item], index) => {
      const label = key === undefined ? '' : `${JSON.stringify(key)}: `
      return `${inner}${label}${this.print(item, inner, label.length + (index < list.length - 1 ? 1 : 0))}`
    })
    return `${open}\n${lines.join(',\n')}\n${indent}${close}`
  }
}
