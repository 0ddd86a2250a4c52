import { basename } from 'node:path'
import * as vite from 'vite'
import { lineSourceMap, type LineSourceMap } from './source-map.js'

interface Node {
  type: string
  start: number
  end: number
  [key: string]: unknown
}

/** Vite 8 parses TypeScript (oxc); older Vite cannot, and then every case points at the spec's export. */
type ParseSync = (filename: string, code: string) => { program: { body: Node[] }; errors: unknown[] }
const parseSync = (vite as unknown as { parseSync?: ParseSync }).parseSync

export const learnFilePattern = /\.learn\.[cm]?[jt]s$/
export const learnGlob = '**/*.learn.?(c|m)[jt]s'

interface SpecShape {
  exportStart: number
  expressionStart: number
  /** Known only when the file was parsed; then a throwing spec is caught and reported as a test. */
  expressionEnd?: number
  /** Offsets of the case literals that can be located statically, in order. */
  caseOffsets: number[]
  casesOffset?: number
  /** The spec's `name` when it is written as a string literal. */
  name?: string
}

/** Without a parser: the first `export default <expression>` at the start of a line. */
function findExportByText(code: string): SpecShape | undefined {
  const match = /^export default (?!function\b|class\b|async function\b)/m.exec(code)
  if (!match) return undefined
  return { exportStart: match.index, expressionStart: match.index + match[0].length, caseOffsets: [] }
}

function findShape(code: string, id: string): SpecShape | undefined {
  if (!parseSync) return findExportByText(code)
  let body: Node[]
  try {
    const parsed = parseSync(basename(id), code)
    if (parsed.errors.length > 0) return findExportByText(code)
    body = parsed.program.body
  } catch {
    return findExportByText(code)
  }
  const declaration = body.find((node) => node.type === 'ExportDefaultDeclaration')
  const expression = declaration?.declaration as Node | undefined
  if (!declaration || !expression || /Declaration$/.test(expression.type)) return undefined
  const shape: SpecShape = {
    exportStart: declaration.start,
    expressionStart: expression.start,
    expressionEnd: expression.end,
    caseOffsets: [],
  }
  const inner = unwrap(expression)
  const spec = unwrap((inner.type === 'CallExpression' ? (inner.arguments as Node[])[0] : inner) as Node | undefined)
  if (spec?.type !== 'ObjectExpression') return shape
  const isKey = (item: Node, key: string) =>
    item.type === 'Property' && !item.computed && ((item.key as Node).name === key || (item.key as Node).value === key)
  for (const item of spec.properties as Node[]) {
    // A later spread may override an earlier literal name.
    if (item.type === 'SpreadElement') delete shape.name
    else if (isKey(item, 'name')) {
      const name = stringLiteral(unwrap(item.value as Node))
      if (name === undefined) delete shape.name
      else shape.name = name
    }
  }
  const cases = (spec.properties as Node[]).find((item) => isKey(item, 'cases'))
  if (!cases) return shape
  shape.casesOffset = cases.start
  const list = cases.value as Node
  if (list.type !== 'ArrayExpression') return shape
  for (const element of list.elements as (Node | null)[]) {
    if (!element || element.type === 'SpreadElement') break
    shape.caseOffsets.push(element.start)
  }
  return shape
}

/** Looks through `( … )`, `… as const`, `… satisfies T` and `…!` to the expression inside. */
function unwrap<T extends Node | undefined>(node: T): T {
  let current: Node | undefined = node
  while (current && /^(ParenthesizedExpression|TSAsExpression|TSSatisfiesExpression|TSNonNullExpression)$/.test(current.type))
    current = current.expression as Node
  return current as T
}

/** The value of `'text'`, `"text"` or a template literal without substitutions. */
function stringLiteral(node: Node): string | undefined {
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value
  if (node.type !== 'TemplateLiteral' || (node.expressions as Node[]).length > 0) return undefined
  const [quasi] = node.quasis as { value: { cooked: string | null } }[]
  return quasi?.value.cooked ?? undefined
}

/** The spec name a file declares as a literal, read without running it; undefined when computed or unparsable. */
export function literalSpecName(code: string, id: string): string | undefined {
  return findShape(code, id)?.name
}

const lineOf = (code: string, offset: number): number => code.slice(0, offset).split('\n').length - 1

/** Vitest's task location of an offset: 1-based line and column. */
function locationOf(code: string, offset: number): string {
  const lineStart = code.lastIndexOf('\n', offset - 1) + 1
  return `{ line: ${lineOf(code, offset) + 1}, column: ${offset - lineStart + 1} }`
}

/**
 * Rewrites a spec file so that its default export is kept and one Vitest test per case, plus a
 * gate test, is registered. Original lines keep their numbers; each generated line maps to the
 * case it runs, so code frames point at the case, and each test is given its case's location, so
 * reporters and `file:line` filters find it without Vitest's includeTaskLocation.
 */
export function transformSpec(code: string, id: string, runtimeModule: string): { code: string; map: LineSourceMap } {
  const shape = findShape(code, id)
  const runtime = `import * as __learnRuntime from ${JSON.stringify(runtimeModule)};`
  let body = code
  let exportLine = 0
  if (shape) {
    exportLine = lineOf(code, shape.exportStart)
    const { exportStart, expressionStart, expressionEnd } = shape
    body =
      expressionEnd === undefined
        ? `${code.slice(0, exportStart)}const __learnSpec = ${code.slice(expressionStart)}`
        : `${code.slice(0, exportStart)}const __learnSpec = __learnRuntime.capture(() => (${code.slice(expressionStart, expressionEnd)}))${code.slice(expressionEnd)}`
  }
  const originalLines = code.split('\n').length
  const sourceLines = Array.from({ length: originalLines }, (_, line) => line)
  const generated: [string, number][] = []
  const casesOffset = shape?.casesOffset ?? shape?.exportStart ?? 0
  const casesLine = lineOf(code, casesOffset)
  if (shape) generated.push(['export default __learnSpec;', exportLine])
  generated.push([
    `const __learnSuite = __learnRuntime.register(${shape ? '__learnSpec' : 'undefined'}, ${JSON.stringify(id)}, ${locationOf(code, shape?.exportStart ?? 0)});`,
    exportLine,
  ])
  generated.push(['__learnSuite.describe(() => {', exportLine])
  shape?.caseOffsets.forEach((offset, index) => generated.push([`__learnSuite.test(${index}, ${locationOf(code, offset)});`, lineOf(code, offset)]))
  generated.push([`__learnSuite.remainingTests(${shape?.caseOffsets.length ?? 0}, ${locationOf(code, casesOffset)});`, casesLine])
  generated.push(['__learnSuite.gate();', exportLine])
  generated.push(['});', exportLine])
  // Imports are hoisted, so the runtime's goes last: no original line moves, and a hashbang stays first.
  const output = `${body}\n${runtime}\n${generated.map(([line]) => line).join('\n')}\n`
  return { code: output, map: lineSourceMap(id, code, [...sourceLines, exportLine, ...generated.map(([, line]) => line)]) }
}
