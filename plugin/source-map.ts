const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function vlq(value: number): string {
  let rest = value < 0 ? (-value << 1) | 1 : value << 1
  let out = ''
  do {
    let digit = rest & 31
    rest >>>= 5
    if (rest > 0) digit |= 32
    out += base64[digit]
  } while (rest > 0)
  return out
}

export interface LineSourceMap {
  version: 3
  sources: string[]
  sourcesContent: string[]
  names: string[]
  mappings: string
}

/**
 * A source map that maps each generated line, as a whole, to one line of the original file
 * (0-based `sourceLines[generatedLine]`). Line-level mapping is all test locations need.
 */
export function lineSourceMap(file: string, original: string, sourceLines: readonly number[]): LineSourceMap {
  let previousLine = 0
  const mappings = sourceLines
    .map((line) => {
      const segment = vlq(0) + vlq(0) + vlq(line - previousLine) + vlq(0)
      previousLine = line
      return segment
    })
    .join(';')
  return { version: 3, sources: [file], sourcesContent: [original], names: [], mappings }
}
