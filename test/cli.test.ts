import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { version as vitestVersion } from 'vitest/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLearnArgs, type LearnCommand } from '../plugin/cli.js'
import { repoRoot } from './support/project.js'

const learnVersion = '9.9.9-test'
const parse = (...argv: string[]) => parseLearnArgs(argv, learnVersion)
const usageError = (command: LearnCommand) => (command.kind === 'usage-error' ? command.message : undefined)

/** The long flags `vitest <command> --help` lists: Vitest's own word on what exists, read independently of the bin. */
function vitestHelpFlags(...command: string[]): string[] {
  const help = spawnSync(process.execPath, [join(repoRoot, 'node_modules/vitest/vitest.mjs'), ...command, '--help', '--expand-help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  return [...new Set([...help.stdout.matchAll(/^\s+(?:-\w, )?(--[\w.-]+)/gm)].map((match) => match[1]!))]
}

describe('vitest-learn command line', () => {
  it('answers --version and -v with both versions, running nothing', async () => {
    for (const flag of ['--version', '-v']) expect(await parse(flag)).toEqual({ kind: 'version', text: `vitest-learn ${learnVersion} (vitest ${vitestVersion})` })
    expect(await parse('run', '--version')).toEqual(expect.objectContaining({ kind: 'version' }))
  })

  it('answers --help', async () => {
    expect(await parse('run', '--help')).toEqual({ kind: 'help' })
  })

  it.each([
    ['--optimise', '--optimize'],
    ['--acept', '--accept'],
    ['--reporterr=dot', '--reporter'],
    ['--updaet', '--update'],
    ['--testTimout=5', '--testTimeout'],
    ['--test-timout=5', '--testTimeout'],
  ])('rejects %s, suggesting %s', async (flag, suggestion) => {
    expect(usageError(await parse('run', flag))).toMatch(new RegExp(`^unknown flag ${flag.split('=')[0]}; did you mean ${suggestion}\\?`))
  })

  it('rejects a flag close to none, pointing at the help', async () => {
    expect(usageError(await parse('--frobnicate'))).toBe("unknown flag --frobnicate\n  see vitest-learn --help, and npx vitest --help for Vitest's flags")
  })

  it('passes every flag of `vitest --help` through, and those of `vitest list` and `vitest bench` to them', async () => {
    const checks: [string[], string[]][] = [
      [[], vitestHelpFlags()],
      [['list'], vitestHelpFlags('list')],
      [['bench'], vitestHelpFlags('bench')],
    ]
    for (const [command, flags] of checks) {
      expect(flags.length).toBeGreaterThan(command.length === 0 ? 100 : 5)
      for (const flag of flags) {
        if (['--help', '--version', '--expand-help'].includes(flag)) continue
        expect(usageError(await parse(...command, flag)) ?? '', `${command.join(' ')} ${flag}`).not.toMatch(/unknown flag/)
      }
    }
  })

  it('passes real flags, their values, filters and what follows -- to Vitest', async () => {
    const command = await parse('run', '-u', '--reporter=junit', '--outputFile.junit=out.xml', '--sequence.concurrent', '--no-color', 'support.learn.ts:9', '--', '--anything')
    expect(command).toEqual(expect.objectContaining({ kind: 'run', filter: ['support.learn.ts:9'], optimize: false, accept: false }))
    const options = (command as Extract<LearnCommand, { kind: 'run' }>).options
    expect(options).toEqual(
      expect.objectContaining({ run: true, update: true, reporter: ['junit'], outputFile: { junit: 'out.xml' }, sequence: { concurrent: true }, color: false, includeTaskLocation: true }),
    )
  })

  it('takes --record and --baseline-ref out with their values, in either spelling', async () => {
    const command = await parse('run', '--record=live', '--baseline-ref', 'origin/main', 'support.learn.ts')
    expect(command).toEqual(expect.objectContaining({ kind: 'run', filter: ['support.learn.ts'], record: 'live', baselineRef: 'origin/main' }))
    expect(await parse('run', '--record', 'missing')).toEqual(expect.objectContaining({ kind: 'run', filter: [], record: 'missing' }))
    expect(await parse('run', '--baseline-ref=v1.2.0')).toEqual(expect.objectContaining({ baselineRef: 'v1.2.0' }))
  })

  it.each([
    [['--record=liv'], '--record: unknown record mode "liv"; did you mean "live"?'],
    [['--record=sometimes'], '--record: unknown record mode "sometimes"; the record modes are missing, all, none, live'],
    [['--record'], '--record needs a value, e.g. --record=missing'],
    [['--baseline-ref', '--reporter=dot'], '--baseline-ref needs a value, e.g. --baseline-ref=origin/main'],
    [['--optimize', '--record=none'], '--optimize calls models and writes a checkpoint; --record=none cannot go with it (--record=missing can)'],
    [['--accept', '--record=live'], '--accept writes a baseline and --record=live writes nothing: run them separately'],
  ])('rejects %j: %s', async (argv, message) => {
    expect(usageError(await parse('run', ...argv))).toBe(message)
  })

  it('takes --optimize and --accept out, and makes them one-off runs', async () => {
    const command = await parse('--optimize', 'support.learn.ts')
    expect(command).toEqual(expect.objectContaining({ kind: 'run', filter: ['support.learn.ts'], optimize: true, accept: false }))
    expect((command as Extract<LearnCommand, { kind: 'run' }>).options.run).toBe(true)
  })

  it('reads --no-cache for optimize and leaves it to Vitest too (its own cache flag)', async () => {
    const command = await parse('--optimize', '--no-cache', 'support.learn.ts')
    expect(command).toEqual(expect.objectContaining({ kind: 'run', filter: ['support.learn.ts'], optimize: true, noCache: true }))
    expect((command as Extract<LearnCommand, { kind: 'run' }>).options.cache).toBe(false)
    expect(await parse('--optimize')).toEqual(expect.objectContaining({ noCache: false }))
  })
})

describe('the vitest-learn bin', () => {
  const bin = join(repoRoot, 'dist/plugin/bin.js')
  let dir: string
  const run = (...argv: string[]) => spawnSync(process.execPath, [bin, ...argv], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })

  beforeAll(async () => {
    // A project whose only test fails: running it would exit 1.
    dir = await mkdtemp(join(tmpdir(), 'learn-bin-'))
    await writeFile(join(dir, 'fails.test.mjs'), "import { test } from 'vitest'\ntest('fails', () => { throw new Error('ran') })\n")
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('prints its version and Vitest’s and exits 0 without running anything', () => {
    const result = run('--version')
    expect(result.status, result.stderr).toBe(0)
    const { version } = JSON.parse(spawnSync(process.execPath, ['-p', "JSON.stringify(require('./package.json'))"], { cwd: repoRoot, encoding: 'utf8' }).stdout)
    expect(result.stdout).toBe(`vitest-learn ${version} (vitest ${vitestVersion})\n`)
    expect(result.stderr).toBe('')
  })

  it('rejects an unknown flag on stderr with exit code 2, running nothing', () => {
    const result = run('run', '--optimise')
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('vitest-learn: unknown flag --optimise; did you mean --optimize?')
  })

  it('still runs Vitest with real flags', () => {
    const result = run('run', '--reporter=dot', '--dir', dir)
    expect(result.status).toBe(1)
    expect(result.stdout + result.stderr).toContain('ran')
  })
})
