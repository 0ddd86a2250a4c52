// The report page from the command line and after a run: `vitest-learn report` builds it from a
// project folder; a run with --report (and every optimize run) writes it when its tests end.
import { relative, resolve } from 'node:path'
import pc from 'picocolors'
import { LearnError } from '../src/errors.js'
import { toPrettyJson, writeFileAtomic } from '../src/formats/files.js'
import type { LearnReport } from '../src/formats/types.generated.js'
import { pageReportFile, reportPageDir, writeReportPage, type ReportPageOptions, type ReportWarning } from '../src/report/page/index.js'
import { takeValueFlags } from './flags.js'
import { learnPluginName, type LearnPluginApi } from './index.js'

const reportHelp = `vitest-learn report [--from <learn-report.json>] [--out <folder>] [--snapshots <folder>]

  Writes a static page, ${reportPageDir}/index.html, from snapshots/ and the last learn-report.json:
  score history, optimize runs, cases, prompt diffs. It needs no server and loads nothing.

  --from <file>        the run's learn-report.json (default: ${pageReportFile}, then learn-report.json)
  --out <folder>       where to write index.html (default: ${reportPageDir})
  --snapshots <folder> the snapshot folder (default: the plugin's snapshotDir in the Vitest config, else snapshots)
`

export type ReportCommand =
  | { kind: 'report'; from?: string; out?: string; snapshots?: string }
  | { kind: 'help'; text: string }
  | { kind: 'usage-error'; message: string }

/** The report's flags, each with an example value. */
const reportFlags = { '--from': 'learn-report.json', '--out': 'learn-report', '--snapshots': 'snapshots' } as const

/** The arguments after `vitest-learn report`. */
export function parseReportArgs(argv: readonly string[]): ReportCommand {
  if (argv.some((arg) => arg === '--help' || arg === '-h')) return { kind: 'help', text: reportHelp }
  const taken = takeValueFlags(argv, reportFlags)
  if ('problem' in taken) return { kind: 'usage-error', message: `report: ${taken.problem}` }
  if (taken.rest.length > 0) return { kind: 'usage-error', message: `report: unknown argument ${taken.rest[0]}\n  see vitest-learn report --help` }
  const [from, out, snapshots] = [taken.values.get('--from'), taken.values.get('--out'), taken.values.get('--snapshots')]
  return { kind: 'report', ...(from ? { from } : {}), ...(out ? { out } : {}), ...(snapshots ? { snapshots } : {}) }
}

type Print = (line: string) => void

function printWarnings(warnings: readonly ReportWarning[], print: Print): void {
  for (const warning of warnings) print(pc.yellow(`   ! skipped ${warning.file}: ${warning.message}`))
}

async function writePage(options: ReportPageOptions, print: Print): Promise<string> {
  const { file, model } = await writeReportPage(options)
  printWarnings(model.warnings, print)
  const shown = relative(process.cwd(), file) || file
  print(pc.dim(`   wrote ${shown} (${model.specs.length} spec${model.specs.length === 1 ? '' : 's'}); open it in a browser`))
  return file
}

/**
 * The snapshot folder the project's Vitest config gives the plugin (`learn({ snapshotDir })`), as
 * a test run would use it; undefined, and said, when the config has no vitest-learn plugin (at its
 * top level: not inside `test.projects`) or cannot be loaded.
 */
async function configuredSnapshotDir(root: string, print: Print): Promise<string | undefined> {
  try {
    const { resolveConfig } = await import('vitest/node')
    const { viteConfig, vitestConfig } = await resolveConfig({ root })
    const plugin = viteConfig.plugins.find((item) => item.name === learnPluginName)
    const api = plugin?.api as LearnPluginApi | undefined
    if (api) return resolve(vitestConfig.root, api.snapshotDir)
    print(pc.dim(`   no vitest-learn plugin in the project's Vitest config; reading snapshots/ (give --snapshots <folder> for another)`))
    return undefined
  } catch (error) {
    print(pc.yellow(`   ! could not load the Vitest config (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); reading snapshots/. Give --snapshots <folder> if the plugin's snapshotDir is another`))
    return undefined
  }
}

/** `vitest-learn report`: the exit code; errors are one clear message, never a stack trace. */
export async function runReportCommand(command: Extract<ReportCommand, { kind: 'report' }>, root: string, print: Print, printError: Print): Promise<number> {
  try {
    const snapshotDir = command.snapshots ?? (await configuredSnapshotDir(root, print))
    await writePage({ root, ...(command.from ? { reportFile: command.from } : {}), ...(command.out ? { outDir: command.out } : {}), ...(snapshotDir ? { snapshotDir } : {}) }, print)
    return 0
  } catch (error) {
    printError(pc.red(`vitest-learn report: ${error instanceof LearnError ? error.message : error instanceof Error ? error.message : String(error)}`))
    return 1
  }
}

/**
 * After a run with --report (or an optimize run): the run's learn-report.json next to the page (so a
 * later `vitest-learn report` finds it), then the page. A failure is reported, never thrown: the
 * tests' outcome stands.
 */
export async function writeRunPage(report: LearnReport, paths: { root: string; snapshotDir: string; cacheDir: string }, log: Print): Promise<void> {
  try {
    const reportFile = resolve(paths.root, pageReportFile)
    await writeFileAtomic(reportFile, toPrettyJson(report))
    await writePage({ root: paths.root, snapshotDir: paths.snapshotDir, cacheDir: paths.cacheDir, reportFile }, log)
  } catch (error) {
    log(pc.red(`   the report page was not written: ${error instanceof Error ? error.message : String(error)}`))
  }
}
