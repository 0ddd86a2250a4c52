// The report page: `vitest-learn report`, `--report` and optimize runs write learn-report/index.html,
// a self-contained static page built from snapshots/ and the last learn-report.json.
import { access } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { LearnError, shortPath } from '../../errors.js'
import { writeFileAtomic } from '../../formats/files.js'
import { buildModel } from './build.js'
import { renderPage } from './html.js'
import { loadProject } from './load.js'
import type { ReportModel } from './model.js'

export type { ReportModel, ReportWarning } from './model.js'
export { renderPage } from './html.js'

/** The page's folder, relative to the project root. */
export const reportPageDir = 'learn-report'
/** Where a run that writes the page keeps its learn-report.json, for a later `vitest-learn report`. */
export const pageReportFile = join(reportPageDir, 'learn-report.json')
/** The learn-report.json files `vitest-learn report` looks for, in order, when it is not told. */
const defaultReportFiles = [pageReportFile, 'learn-report.json']

export interface ReportPageOptions {
  root: string
  /** The plugin's snapshot folder; default `<root>/snapshots`. */
  snapshotDir?: string
  /** Optimize's call cache (kept runs' records); default `<root>/node_modules/.cache/vitest-learn`. */
  cacheDir?: string
  /** learn-report.json; default the first of `defaultReportFiles` that exists. `false`: none. */
  reportFile?: string | false
  /** The page's folder; default `<root>/learn-report`. */
  outDir?: string
  now?: Date
}

interface ReportPageResult {
  file: string
  model: ReportModel
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

async function findReportFile(root: string): Promise<string | undefined> {
  for (const candidate of defaultReportFiles) if (await exists(resolve(root, candidate))) return resolve(root, candidate)
  return undefined
}

/** The page's model, from a project folder. */
export async function loadReportModel(options: ReportPageOptions): Promise<ReportModel> {
  const root = resolve(options.root)
  const reportFile = options.reportFile === false ? undefined : options.reportFile ? resolve(root, options.reportFile) : await findReportFile(root)
  if (options.reportFile && !(await exists(reportFile!)))
    throw new LearnError('does not exist', { file: reportFile!, fix: 'write one with `vitest-learn run --report` (or --outputFile.learn=<file>), or leave out --from' })
  const files = await loadProject({
    root,
    snapshotDir: resolve(root, options.snapshotDir ?? 'snapshots'),
    cacheDir: resolve(root, options.cacheDir ?? 'node_modules/.cache/vitest-learn'),
    ...(reportFile ? { reportFile } : {}),
  })
  return buildModel(files, options.now ?? new Date())
}

/** Builds the page and writes `<outDir>/index.html`; never writes inside the snapshot folder. */
export async function writeReportPage(options: ReportPageOptions): Promise<ReportPageResult> {
  const root = resolve(options.root)
  const outDir = resolve(root, options.outDir ?? reportPageDir)
  const snapshotDir = resolve(root, options.snapshotDir ?? 'snapshots')
  const inside = relative(snapshotDir, outDir)
  if (inside === '' || !(inside.startsWith('..') || isAbsolute(inside)))
    throw new LearnError(`the report's folder is inside the snapshot folder ${shortPath(snapshotDir)}, which belongs to the test runs`, { field: 'out', fix: 'choose another folder, e.g. learn-report/' })
  const model = await loadReportModel(options)
  const file = join(outDir, 'index.html')
  await writeFileAtomic(file, renderPage(model))
  return { file, model }
}
