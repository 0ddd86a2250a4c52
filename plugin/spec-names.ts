// Two spec files with one name would share snapshots/<name>/: their recordings would be merged into
// one tape and each would overwrite the other's checkpoint. Each test file runs in its own worker,
// so no worker can see the other file. Two guards:
// - Before workers start, the main process reads the name every spec file declares as a literal
//   (the documented form) and hands the map to the workers: both files of a clashing pair fail
//   before either touches its snapshot folder, however the files are filtered or sharded.
// - A name computed at run time cannot be read without running the file. Each worker therefore
//   also claims its spec's name for this run, by creating a file named after it in a folder of the
//   run (an exclusive create). A file that finds the name claimed by another file fails; the first
//   claimant runs and keeps its folder to itself.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { Reporter } from 'vitest/reporters'
import { LearnError } from '../src/errors.js'
import type { LearnProvided } from './context.js'
import { learnFilePattern, literalSpecName } from './transform.js'

/** Absolute spec file → the name its source declares, or null when the name is computed. */
export type SpecNames = Record<string, string | null>

async function readSpecNames(project: TestProject): Promise<SpecNames> {
  const { testFiles } = await project.globTestFiles()
  const specs = testFiles.filter((file) => learnFilePattern.test(file) && !file.includes('/node_modules/'))
  const names = await Promise.all(
    specs.map(async (file) => {
      const code = await readFile(file, 'utf8').catch(() => undefined)
      return [file, code === undefined ? null : (literalSpecName(code, file) ?? null)] as const
    }),
  )
  return Object.fromEntries(names)
}

/**
 * Main process: before each run, reads the spec names and opens a fresh claims folder, and hands
 * both to the workers through `update`; after the run, removes the folder.
 */
export function specNameGuard(project: TestProject, update: (names: Pick<LearnProvided, 'specNames' | 'claimsDir'>) => void): Reporter {
  let claimsDir: string | undefined
  return {
    async onTestRunStart() {
      if (claimsDir) await rm(claimsDir, { recursive: true, force: true })
      claimsDir = await mkdtemp(join(tmpdir(), 'vitest-learn-claims-'))
      update({ specNames: await readSpecNames(project), claimsDir })
    },
    async onTestRunEnd() {
      if (claimsDir) await rm(claimsDir, { recursive: true, force: true })
      claimsDir = undefined
    },
  }
}

/** Worker: claims `name` for `file` in this run; returns the file that claimed it first, when another did. */
function claim(name: string, file: string, claimsDir: string): string | undefined {
  const path = join(claimsDir, name)
  try {
    writeFileSync(path, file, { flag: 'wx' })
    return undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const owner = readFileSync(path, 'utf8')
    return owner === file ? undefined : owner
  }
}

/** Worker: the error of a spec whose name another spec file also uses, naming every file involved. */
export function nameClash(name: string, file: string, provided: LearnProvided): LearnError | undefined {
  const show = (path: string) => relative(provided.root, path)
  const others = Object.entries(provided.specNames)
    .filter(([other, otherName]) => other !== file && otherName === name)
    .map(([other]) => show(other))
  const fix = (files: string[]) => ({ file: show(file), field: 'name', fix: `give each of ${[show(file), ...files].join(', ')} a name of its own` })
  if (others.length > 0)
    return new LearnError(`the spec name "${name}" is used by ${[show(file), ...others].join(' and ')}; they would share snapshots/${name}/, so none of them runs`, fix(others))
  const owner = provided.claimsDir ? claim(name, file, provided.claimsDir) : undefined
  if (owner === undefined) return undefined
  return new LearnError(
    `the spec name "${name}" is also used by ${show(owner)}, which claimed it first in this run; they would share snapshots/${name}/, so this spec does not run`,
    fix([show(owner)]),
  )
}
