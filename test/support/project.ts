import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs')
const learnBin = join(repoRoot, 'dist/plugin/bin.js')

export interface RunResult {
  code: number | null
  /** stdout and stderr as they came. */
  output: string
  stdout: string
  stderr: string
}

export interface RunOptions {
  ci?: boolean
  env?: Record<string, string>
}

/** A run still going, which can be killed with everything it started (its process group). */
export interface RunningProcess {
  pid: number
  result: Promise<RunResult>
  /** What it printed so far (stdout and stderr). */
  readonly output: string
  /** SIGKILL to the run and every process it started, as a CI job's timeout or a power cut would; resolves once it has exited. */
  kill(): Promise<RunResult>
}

export interface TempProject {
  dir: string
  write(path: string, text: string): Promise<void>
  read(path: string): Promise<string>
  /** Runs `vitest run ...args` in the project; `ci` sets CI=true (replay only). */
  vitest(args?: string[], options?: RunOptions): Promise<RunResult>
  /** Runs the `vitest-learn` bin with these arguments. */
  learn(args: string[], options?: RunOptions): Promise<RunResult>
  /** Starts `vitest run ...args` (or the bin, with `bin: 'learn'`) in a process group of its own, to be killed. */
  start(args: string[], options?: RunOptions & { bin?: 'vitest' | 'learn' }): RunningProcess
  /** Every file below the project, except node_modules. */
  files(): Promise<string[]>
  remove(): Promise<void>
}

/**
 * Links every package of this repo's node_modules into the project, and installs vitest-learn as
 * npm would: a copy of what it publishes. (A link would resolve outside node_modules, and Vite
 * would then transform the package like project source instead of loading it as a dependency.)
 */
async function linkModules(dir: string): Promise<void> {
  const target = join(dir, 'node_modules')
  await mkdir(target)
  const source = join(repoRoot, 'node_modules')
  for (const name of await readdir(source)) {
    if (name.startsWith('.')) continue
    await symlink(join(source, name), join(target, name))
  }
  const self = join(target, 'vitest-learn')
  for (const entry of ['package.json', 'dist', 'schemas']) await cp(join(repoRoot, entry), join(self, entry), { recursive: true })
}

/** Environment for a child Vitest: none of this test run's Vitest or CI variables leak into it. */
function childEnv(extra: Record<string, string>, ci: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|CI$|CONTINUOUS_INTEGRATION|TEST$|NODE_ENV$|OPENAI_APIKEY$)/.test(key)) continue
    env[key] = value
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...(ci ? { CI: 'true' } : {}), ...extra }
}

function start(cwd: string, argv: string[], options: RunOptions, detached: boolean): RunningProcess {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: childEnv(options.env ?? {}, options.ci ?? false),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  })
  const text = { output: '', stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => {
    text.output += chunk.toString()
    text.stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    text.output += chunk.toString()
    text.stderr += chunk.toString()
  })
  const result = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, ...text }))
  })
  return {
    pid: child.pid as number,
    result,
    get output() {
      return text.output
    },
    kill() {
      try {
        process.kill(detached ? -(child.pid as number) : (child.pid as number), 'SIGKILL')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
      }
      return result
    },
  }
}

const run = (cwd: string, argv: string[], options: RunOptions): Promise<RunResult> => start(cwd, argv, options, false).result

export async function createProject(files: Record<string, string>): Promise<TempProject> {
  const dir = await mkdtemp(join(tmpdir(), 'vitest-learn-'))
  await linkModules(dir)
  const project: TempProject = {
    dir,
    async write(path, text) {
      await mkdir(dirname(join(dir, path)), { recursive: true })
      await writeFile(join(dir, path), text)
    },
    read: (path) => readFile(join(dir, path), 'utf8'),
    vitest: (args = [], options = {}) => run(dir, [vitestBin, 'run', ...args], options),
    learn: (args, options = {}) => run(dir, [learnBin, ...args], options),
    start: (args, options = {}) => start(dir, options.bin === 'learn' ? [learnBin, ...args] : [vitestBin, 'run', ...args], options, true),
    async files() {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true })
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .filter((path) => !path.includes('/node_modules/'))
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  }
  await project.write('package.json', JSON.stringify({ name: 'learn-temp-project', type: 'module', private: true }))
  for (const [path, text] of Object.entries(files)) await project.write(path, text)
  return project
}
