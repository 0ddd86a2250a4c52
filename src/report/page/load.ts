// Phase one of the report page: reads what a project folder holds about its specs (snapshots/, the
// optimize cache's kept runs, the last learn-report.json), validated, into plain typed records.
// Unusable files and lines become warnings. Reads only: it never writes or locks anything.
import { join } from 'node:path'
import { historyDir } from '../../formats/checkpoint-folder.js'
import { snapshotFiles } from '../../formats/layout.js'
import type {
  LearnCheckpoint,
  LearnHistoryLine,
  LearnOptimizeRun,
  LearnReport,
  LearnTape,
  LearnTraceLine,
} from '../../formats/types.generated.js'
import { jsonFilesIn, listFolder, readFormat, readFormatLines, WarningLog } from './read.js'
import type { ReportWarning } from './model.js'

interface LoadOptions {
  /** The project root: warnings show paths relative to it. */
  root: string
  /** The plugin's snapshot folder (snapshots/ by default). */
  snapshotDir: string
  /** Optimize's call cache, whose optimize-runs/<spec>/ holds the records of runs that kept the program. */
  cacheDir?: string
  /** learn-report.json of the last run, if there is one. */
  reportFile?: string
}

export interface LoadedRun {
  file: string
  from: 'snapshots' | 'cache'
  record: LearnOptimizeRun
}

/** Everything read about one spec. */
export interface SpecFiles {
  name: string
  history: LearnHistoryLine[]
  /** checkpoint.json, when it is there and valid. */
  current?: LearnCheckpoint
  /** Every valid checkpoint (the current one included), by version, at or below the current version. */
  checkpoints: LearnCheckpoint[]
  runs: LoadedRun[]
  tape?: LearnTape
  traces: LearnTraceLine[]
}

export interface ProjectFiles {
  specs: SpecFiles[]
  report?: { file: string; value: LearnReport }
  warnings: ReportWarning[]
}

const versionOf = (file: string) => Number(/^v([1-9]\d*)\.json$/.exec(file)?.[1] ?? Number.NaN)

async function readCheckpoints(folder: string, log: WarningLog): Promise<Pick<SpecFiles, 'current' | 'checkpoints'>> {
  const current = await readFormat(snapshotFiles(folder).checkpoint, 'checkpoint', log)
  const byVersion = new Map<number, LearnCheckpoint>()
  for (const file of (await listFolder(historyDir(folder), log)).files) {
    const version = versionOf(file)
    // A history file above the current version was never current (an interrupted write): readers ignore it.
    if (Number.isNaN(version) || (current && version > current.version)) continue
    const path = join(historyDir(folder), file)
    const checkpoint = await readFormat(path, 'checkpoint', log)
    if (!checkpoint) continue
    if (checkpoint.version !== version) log.add(path, `version: is ${checkpoint.version}, but the file name says v${version}; skipped`)
    else byVersion.set(version, checkpoint)
  }
  if (current) byVersion.set(current.version, current)
  return { ...(current ? { current } : {}), checkpoints: [...byVersion.values()].sort((a, b) => a.version - b.version) }
}

async function readRuns(folder: string, from: LoadedRun['from'], spec: string, log: WarningLog): Promise<LoadedRun[]> {
  const runs: LoadedRun[] = []
  for (const file of await jsonFilesIn(folder, log)) {
    const record = await readFormat(file, 'optimizeRun', log)
    if (!record) continue
    if (record.spec !== spec) log.add(file, `spec: is "${record.spec}", but the record sits in the folder of "${spec}"; skipped`)
    else runs.push({ file: log.shown(file), from, record })
  }
  return runs
}

async function readSpec(name: string, options: LoadOptions, log: WarningLog): Promise<SpecFiles> {
  const folder = join(options.snapshotDir, name)
  const files = snapshotFiles(folder)
  const [history, checkpoints, written, kept, tape, traces] = await Promise.all([
    readFormatLines(join(folder, 'history.jsonl'), 'history', log),
    readCheckpoints(folder, log),
    readRuns(files.optimizeRuns, 'snapshots', name, log),
    options.cacheDir ? readRuns(join(options.cacheDir, 'optimize-runs', name), 'cache', name, log) : Promise.resolve([]),
    readFormat(files.tape, 'tape', log),
    readFormatLines(files.traces, 'trace', log),
  ])
  const runs = [...written, ...kept].sort((a, b) => (a.record.started < b.record.started ? -1 : 1))
  return { name, history, ...checkpoints, runs, ...(tape ? { tape } : {}), traces }
}

/** Reads the specs of a project: every folder of the snapshot folder, and every spec of the report. */
export async function loadProject(options: LoadOptions): Promise<ProjectFiles> {
  const log = new WarningLog(options.root)
  const report = options.reportFile ? await readFormat(options.reportFile, 'report', log) : undefined
  const names = new Set((await listFolder(options.snapshotDir, log)).folders)
  // A spec of the report without a folder still gets its section; a name that is not a folder name is never used as a path.
  for (const spec of report?.specs ?? []) if (/^[^/\\]+$/.test(spec.name) && spec.name !== '..') names.add(spec.name)
  const specs = await Promise.all([...names].sort().map((name) => readSpec(name, options, log)))
  return {
    specs,
    ...(report && options.reportFile ? { report: { file: log.shown(options.reportFile), value: report } } : {}),
    warnings: log.items,
  }
}
