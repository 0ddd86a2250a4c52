import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LearnError } from '../errors.js'
import { readJsonFile, writeFileAtomic } from './files.js'
import { snapshotFiles } from './layout.js'
import type { LearnCheckpoint } from './types.generated.js'

// A folder's checkpoints, as the plugin's snapshots/<spec>/ and the files store keep them:
//   checkpoint.json      the current checkpoint: the only authority on which one that is
//   checkpoints/vN.json  history
// Writes go current first, history second, so a crash between them leaves a current checkpoint
// whose history file is missing; the next write completes it. A history file above the current
// version (left by versions of vitest-learn that wrote history first) was never current: readers
// ignore it, and it is never overwritten by a new version.

export const historyDir = (folder: string): string => join(folder, 'checkpoints')
export const historyPath = (folder: string, version: number): string => join(historyDir(folder), `v${version}.json`)

export const checkpointFix = (folder: string): string =>
  `fix the file, or restore it from ${historyDir(folder)}/ or from version control`

/** The current checkpoint (checkpoint.json), validated; undefined when there is none. */
export function readCurrentCheckpoint(folder: string): Promise<LearnCheckpoint | undefined> {
  return readJsonFile(snapshotFiles(folder).checkpoint, 'checkpoint', checkpointFix(folder))
}

/** Every version in checkpoints/, current or not. */
export async function historyVersions(folder: string): Promise<number[]> {
  try {
    return (await readdir(historyDir(folder))).flatMap((file) => {
      const match = /^v([1-9]\d*)\.json$/.exec(file)
      return match ? [Number(match[1])] : []
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** History versions a reader sees: those at or below the current version; none without a current checkpoint. */
export function visibleVersions(current: LearnCheckpoint | undefined, versions: readonly number[]): number[] {
  return current ? versions.filter((version) => version <= current.version) : []
}

/** The highest version on disk, current or in the history, so a new version never overwrites a file. */
export async function latestVersion(folder: string, current: LearnCheckpoint | undefined): Promise<number> {
  return Math.max(current?.version ?? 0, ...(await historyVersions(folder)))
}

/**
 * Writes checkpoints given as their file text, by version. The highest of them becomes
 * checkpoint.json when it is at or above the current version. Order, so that a crash at any point
 * leaves checkpoint.json naming a complete checkpoint: (1) the current checkpoint's history file,
 * if missing, (2) checkpoint.json, (3) the history files. Not safe against concurrent writers by
 * itself: the files store holds its folder lock around it.
 */
export async function writeCheckpointFiles(folder: string, texts: ReadonlyMap<number, string>): Promise<void> {
  if (texts.size === 0) return
  const currentPath = snapshotFiles(folder).checkpoint
  const current = await readCurrentCheckpoint(folder)
  const versions = new Set(await historyVersions(folder))
  if (current && !versions.has(current.version)) {
    await writeFileAtomic(historyPath(folder, current.version), await readFile(currentPath, 'utf8'))
  }
  const newest = Math.max(...texts.keys())
  if (!current || newest >= current.version) await writeFileAtomic(currentPath, texts.get(newest) as string)
  for (const [version, text] of texts) await writeFileAtomic(historyPath(folder, version), text)
}

/** Reads the visible history files; each must hold the version its name says. */
export async function readHistory(folder: string, versions: readonly number[]): Promise<LearnCheckpoint[]> {
  const read = await Promise.all(
    versions.map(async (version) => {
      const path = historyPath(folder, version)
      const checkpoint = await readJsonFile(path, 'checkpoint', checkpointFix(folder))
      if (checkpoint && checkpoint.version !== version) {
        throw new LearnError(`is ${checkpoint.version}, but the file name says v${version}`, {
          file: path,
          field: 'version',
          fix: checkpointFix(folder),
        })
      }
      return checkpoint
    }),
  )
  return read.filter((checkpoint): checkpoint is LearnCheckpoint => checkpoint !== undefined)
}
