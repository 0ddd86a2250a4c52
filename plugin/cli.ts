// The command line of `vitest-learn`: Vitest's, plus --optimize, --accept, --record and --baseline-ref.
// Vitest rejects unknown flags before any plugin loads, so the bin parses the command line itself and
// passes the rest on.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseCLI, version as vitestVersion } from 'vitest/node'
import { closestMatch } from '../src/suggest.js'
import { takeValueFlags } from './flags.js'
import { recordModeConflict, recordModeProblem, type RecordMode } from './mode.js'
import { parseReportArgs, type ReportCommand } from './report-page.js'

export const help = `vitest-learn [vitest flags and filters]

  --optimize   optimize the selected specs' prompts (GEPA, judged), writing a new checkpoint
               only when it beats the current one; then record the cases under it
  --accept     accept this run's scores as the new baseline of specs edited since their checkpoint
  --no-cache   with --optimize: call every model live instead of replaying optimize's call cache
               (also turns off Vitest's own cache for the run)
  --record=<mode>
               missing: record what lacks a recording (the default; none with CI set)
               all: re-record every call (as -u, which then updates only ordinary snapshots)
               none: replay only, failing what is missing (the default with CI set)
               live: call the models for everything and write nothing (a check for model drift)
  --baseline-ref=<git ref>
               compare each spec with its checkpoint's baseline at that ref (else the scores
               recorded there), read with git, without a checkout: --baseline-ref=origin/main
  --report     after the run, write learn-report/index.html (optimize runs write it anyway)
  --version    print the versions of vitest-learn and Vitest

vitest-learn report  writes the page from snapshots/ and the last learn-report.json, without a
               run (see vitest-learn report --help)

Every other flag and filter is Vitest's (see \`npx vitest --help\`), e.g.
  vitest-learn run                         replay and record what is missing
  vitest-learn run -u                      re-record everything
  vitest-learn --optimize examples/support.learn.ts
`

const ownFlags = ['--optimize', '--accept', '--record', '--baseline-ref', '--report'] as const
/** Own flags that take a value, as `--flag=value` or `--flag value`, each with an example. */
const valueFlags = { '--record': 'missing', '--baseline-ref': 'origin/main' } as const

type VitestArgs = ReturnType<typeof parseCLI>

export type LearnCommand =
  | { kind: 'help'; text?: string }
  | Extract<ReportCommand, { kind: 'report' }>
  | { kind: 'version'; text: string }
  /** A mistake on the command line: print the message to stderr and exit with 2. */
  | { kind: 'usage-error'; message: string }
  | {
      kind: 'run'
      filter: string[]
      options: VitestArgs['options']
      optimize: boolean
      accept: boolean
      noCache: boolean
      /** --report: write the report page after the run. */
      report: boolean
      record?: RecordMode
      baselineRef?: string
    }

/** The parts of Vitest's command line parser (cac) the unknown-flag check reads. */
interface CacOption {
  rawName: string
}
interface CacCommand {
  options: CacOption[]
  config: { allowUnknownOptions?: boolean }
  hasOption(name: string): unknown
}
interface Cac {
  parse(argv: string[], settings: { run: boolean }): unknown
  options: Record<string, unknown>
  matchedCommand?: CacCommand
  globalCommand: CacCommand
}

/**
 * Vitest's own command line definition. `vitest/node` exports only `parseCLI`, which accepts any
 * flag; its `createCLI` (what the `vitest` bin runs) is reached through the chunk `dist/cli.js`
 * imports it from. Undefined when a future Vitest is laid out otherwise: flags then pass unchecked.
 */
async function loadVitestCli(): Promise<Cac | undefined> {
  try {
    const cliFile = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'dist/cli.js')
    const match = /import\s*\{\s*(\w+)\s+as\s+createCLI\s*\}\s*from\s*['"]([^'"]+)['"]/.exec(await readFile(cliFile, 'utf8'))
    if (!match) return undefined
    const chunk = (await import(pathToFileURL(join(dirname(cliFile), match[2]!)).href)) as Record<string, unknown>
    const createCLI = chunk[match[1]!]
    return typeof createCLI === 'function' ? (createCLI() as Cac) : undefined
  } catch {
    return undefined
  }
}

const camelCase = (text: string) => text.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())

/** The flag as the user typed it, found back from the name cac parsed it to (`--test-timout` → `testTimout`). */
function typedFlag(argv: string[], name: string): string {
  const typed = argv.find((arg) => /^--?[^-]/.test(arg) && camelCase(arg.replace(/^--?(no-)?/, '').split('=')[0]!.split('.')[0]!) === name)
  return typed?.split('=')[0] ?? (name.length === 1 ? `-${name}` : `--${name}`)
}

/** The first flag Vitest would reject as unknown (cac's own rule), with the flag it most likely misspells. */
function unknownFlag(cli: Cac, argv: string[]): string | undefined {
  cli.parse(['node', 'vitest', ...argv], { run: false })
  const command = cli.matchedCommand ?? cli.globalCommand
  if (command.config.allowUnknownOptions) return undefined
  const unknown = Object.keys(cli.options).find((name) => name !== '--' && !command.hasOption(name) && !cli.globalCommand.hasOption(name))
  if (unknown === undefined) return undefined
  const known = [...cli.globalCommand.options, ...command.options].flatMap((option) => option.rawName.match(/--[\w.-]+/g) ?? [])
  const flag = typedFlag(argv, unknown)
  const match = closestMatch(flag, [...ownFlags, ...known])
  return `unknown flag ${flag}${match ? `; did you mean ${match}?` : ''}\n  see vitest-learn --help, and npx vitest --help for Vitest's flags`
}

const hasFlag = (flags: string[], ...names: string[]) => flags.some((arg) => names.includes(arg))

export async function parseLearnArgs(argv: string[], learnVersion: string): Promise<LearnCommand> {
  // What follows `--` is for the tests' own process.argv, not for Vitest or vitest-learn.
  if (argv[0] === 'report') return parseReportArgs(argv.slice(1))
  const end = argv.indexOf('--')
  const flags = end === -1 ? argv : argv.slice(0, end)
  if (hasFlag(flags, '--help', '-h')) return { kind: 'help' }
  if (hasFlag(flags, '--version', '-v')) return { kind: 'version', text: `vitest-learn ${learnVersion} (vitest ${vitestVersion})` }
  const taken = takeValueFlags(flags, valueFlags)
  if ('problem' in taken) return { kind: 'usage-error', message: taken.problem }
  const record = taken.values.get('--record')
  const baselineRef = taken.values.get('--baseline-ref')
  const recordProblem = record === undefined ? undefined : recordModeProblem(record)
  if (recordProblem) return { kind: 'usage-error', message: `--record: ${recordProblem}` }
  // Taken out before Vitest parses the rest: it would read `--optimize file.learn.ts` as a value.
  const rest = [...taken.rest, ...(end === -1 ? [] : argv.slice(end))].filter((arg) => !(ownFlags as readonly string[]).includes(arg))
  let parsed: VitestArgs
  try {
    const cli = await loadVitestCli()
    const unknown = cli && unknownFlag(cli, rest)
    if (unknown) return { kind: 'usage-error', message: unknown }
    parsed = parseCLI(['vitest', ...rest])
  } catch (error) {
    return { kind: 'usage-error', message: error instanceof Error ? error.message : String(error) }
  }
  const { filter, options } = parsed
  const optimize = argv.includes('--optimize')
  const accept = argv.includes('--accept')
  // Vitest's flag too (its results cache): it is passed on as well.
  const noCache = flags.includes('--no-cache')
  const conflict = recordModeConflict(record, { optimize, accept })
  if (conflict) return { kind: 'usage-error', message: conflict }
  // Optimizing and accepting are one-off jobs, never a watch session.
  if ((optimize || accept) && !options.watch) options.run = true
  if (filter.some((item) => /:\d+$/.test(item))) options.includeTaskLocation ??= true
  return {
    kind: 'run',
    filter,
    options,
    optimize,
    accept,
    noCache,
    report: flags.includes('--report'),
    ...(record !== undefined ? { record: record as RecordMode } : {}),
    ...(baselineRef !== undefined ? { baselineRef } : {}),
  }
}
