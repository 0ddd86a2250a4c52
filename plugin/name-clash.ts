// Worker half of the spec name guard (see spec-names.ts, the main process's half): a spec whose name
// another spec file of the project declares, or claimed first in this run, does not run. Kept apart
// so that a worker never loads the parser the main process reads names with.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { LearnError } from '../src/errors.js'
import type { LearnProvided } from './context.js'

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
