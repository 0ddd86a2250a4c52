// Two spec files with one name would share snapshots/<name>/: their recordings would be merged into
// one tape and each would overwrite the other's checkpoint. Each test file runs in its own worker,
// so no worker can see the other file. Two guards:
// - Before workers start, the main process reads the name every spec file declares as a literal
//   (the documented form) and hands the map to the workers: both files of a clashing pair fail
//   before either touches its snapshot folder, however the files are filtered or sharded.
// - A name computed at run time cannot be read without running the file. Each worker therefore
//   also claims its spec's name for this run (name-clash.ts), by creating a file named after it in a folder of the
//   run (an exclusive create). A file that finds the name claimed by another file fails; the first
//   claimant runs and keeps its folder to itself.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { Reporter } from 'vitest/reporters'
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
