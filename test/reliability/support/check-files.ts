// What the campaign checks on disk after every kill, bad input or fault: each file vitest-learn
// writes validates against its schema, and nothing else is left behind. Plain code, free of
// Vitest, so bench/reliability.ts uses it too.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'
import { assertFormat, type FormatKind } from '../../../src/formats/validate.js'

/** Files a crashed writer may leave, which the next run must remove. */
const debrisName = /\.\d+\.[0-9a-f]{8}\.tmp$/

export interface FileReport {
  /** Files that fail to parse or validate, with why. */
  invalid: string[]
  /** Temporary files of killed writers, and locks (a finished run leaves none). */
  debris: string[]
  /** Files checked. */
  checked: number
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** The kind of a file vitest-learn writes, from where it sits; `lines` for JSON-lines files. */
function kindOf(path: string, root: string): { kind: FormatKind | 'journal' | 'lock'; lines: boolean } | undefined {
  const name = basename(path)
  const rel = relative(root, path)
  if (name === '.vitest-learn.lock') return { kind: 'lock', lines: false }
  if (rel.startsWith('node_modules/.cache/vitest-learn/')) {
    // Journals of recording runs (journal/<spec>.jsonl) and of optimize's call cache (journal/optimize-<spec>.jsonl).
    if (name.endsWith('.jsonl')) return { kind: 'journal', lines: true }
    if (dirname(path).endsWith('vitest-learn') && name.endsWith('.json')) return { kind: 'tape', lines: false }
    if (rel.includes('/optimize-runs/') && name.endsWith('.json')) return { kind: 'optimizeRun', lines: false }
    return undefined
  }
  if (name === 'history.jsonl') return { kind: 'history', lines: true }
  if (basename(dirname(path)) === 'optimize-runs' && name.endsWith('.json')) return { kind: 'optimizeRun', lines: false }
  if (name === 'tape.json') return { kind: 'tape', lines: false }
  if (name === 'traces.jsonl') return { kind: 'trace', lines: true }
  if (name === 'synthetic.json') return { kind: 'synthetic', lines: false }
  if (name === 'checkpoint.json' || /^v[1-9]\d*\.json$/.test(name)) return { kind: 'checkpoint', lines: false }
  return undefined
}

function checkText(kind: FormatKind | 'journal', text: string, where: string, lines: boolean, tornTailAllowed: boolean): string | undefined {
  const check = (value: unknown, at: string) =>
    kind === 'journal' ? assertFormat('tape', { format: 1, spec: 'journal', entries: [value] }, at, '') : assertFormat(kind, value, at, '')
  try {
    if (!lines) {
      check(JSON.parse(text), where)
      return undefined
    }
    const all = text.split('\n')
    for (const [index, line] of all.entries()) {
      if (line.trim() === '') continue
      // A JSON-lines file appended to by a process killed mid-line ends with a torn line; the
      // stores and the journal repair or skip it, and the campaign allows it there only.
      const last = index === all.length - 1
      try {
        check(JSON.parse(line), `${where}:${index + 1}`)
      } catch (error) {
        if (last && tornTailAllowed) return undefined
        throw error
      }
    }
    return undefined
  } catch (error) {
    return `${where}: ${(error as Error).message.split('\n')[0]}`
  }
}

/**
 * Checks every file below the given folders of a project: snapshots/, the call cache and journals
 * in node_modules/.cache/vitest-learn/, and files stores (`stores`, whose traces.jsonl may end
 * with a torn line: the store repairs it on open).
 */
export async function checkFiles(root: string, options: { stores?: string[] } = {}): Promise<FileReport> {
  const report: FileReport = { invalid: [], debris: [], checked: 0 }
  const stores = (options.stores ?? []).map((store) => join(root, store))
  const folders = [join(root, 'snapshots'), join(root, 'node_modules/.cache/vitest-learn'), ...stores]
  for (const folder of folders) {
    for (const path of await listFiles(folder)) {
      const rel = relative(root, path)
      if (debrisName.test(path)) {
        report.debris.push(rel)
        continue
      }
      const kind = kindOf(path, root)
      if (!kind) {
        report.invalid.push(`${rel}: not a file vitest-learn writes`)
        continue
      }
      report.checked++
      if (kind.kind === 'lock') {
        report.debris.push(rel)
        continue
      }
      const inStore = stores.some((store) => path.startsWith(`${store}/`))
      const problem = checkText(kind.kind, await readFile(path, 'utf8'), rel, kind.lines, inStore || kind.kind === 'journal')
      if (problem) report.invalid.push(problem)
    }
  }
  return report
}

/** A fingerprint of every file below `dir` (node_modules excluded unless asked): path → sha256. */
export async function fingerprint(dir: string, options: { include?: string[] } = {}): Promise<Map<string, string>> {
  const files = [...(await listFiles(dir)).filter((path) => !relative(dir, path).startsWith('node_modules/'))]
  for (const extra of options.include ?? []) files.push(...(await listFiles(join(dir, extra))))
  const prints = new Map<string, string>()
  for (const path of files.sort()) prints.set(relative(dir, path), createHash('sha256').update(await readFile(path)).digest('hex'))
  return prints
}

/** Files whose bytes changed, appeared or disappeared between two fingerprints. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()])
  return [...paths].filter((path) => before.get(path) !== after.get(path)).sort()
}
