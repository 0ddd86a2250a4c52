import { access, mkdir, readdir, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { LearnError, shortPath } from '../errors.js'
import { acquireFileLock, LockTimeoutError, removeAbandonedLock, type HeldLock } from '../storage/lock.js'
import { historyDir } from './checkpoint-folder.js'
import { removeStaleTemporaries } from './files.js'
import { snapshotFiles } from './layout.js'

// snapshots/ belongs to the plugin; production stores keep their own folder. tape.json is the one
// file only the plugin writes, so it is what tells a spec's folder from anything else: the
// plugin removes no folder without one, and the files store opens no folder that holds one.

/** The folders directly in `dir`; none when `dir` does not exist. */
async function subfolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name))
  } catch (error) {
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return []
    throw error
  }
}

/** Whether `folder` is a spec's folder written by the plugin (it holds tape.json). */
export async function isSpecFolder(folder: string): Promise<boolean> {
  try {
    await access(snapshotFiles(folder).tape)
    return true
  } catch {
    return false
  }
}

/** A spec folder at `dir` or directly below it, if there is one: `dir` is then the plugin's snapshot folder, or one of its spec folders. */
export async function findSpecFolder(dir: string): Promise<string | undefined> {
  if (await isSpecFolder(dir)) return dir
  for (const folder of await subfolders(dir)) {
    if (await isSpecFolder(folder)) return folder
  }
  return undefined
}

/** Removes what writers killed mid-write left in a spec's folder (or a store's): temporary files, here and in checkpoints/, and their lock. */
export async function removeCrashDebris(folder: string): Promise<void> {
  await Promise.all([removeStaleTemporaries(folder), removeStaleTemporaries(historyDir(folder)), removeAbandonedLock(snapshotFiles(folder).lock)])
}

/** removeCrashDebris() in every folder of the plugin's snapshot folder. */
export async function removeCrashDebrisBelow(snapshotDir: string): Promise<void> {
  await Promise.all((await subfolders(snapshotDir)).map(removeCrashDebris))
}

export interface SpecLockOptions {
  /** How long to wait for another run's lock before failing. */
  timeoutMs: number
  /** Told once when another run holds the folder and this one starts to wait. */
  onWait?: (message: string) => void
}

/**
 * Takes a spec folder for a run that may write it (record, -u, optimize, --accept), until
 * released: two runs at once on one spec would otherwise each write the tape, journal and
 * checkpoints from what they loaded, and the last one would drop what the other recorded. The
 * second run waits, then fails naming the first. Released, it removes the folder again if the run
 * wrote nothing there.
 */
export async function lockSpecFolder(folder: string, options: SpecLockOptions): Promise<HeldLock> {
  await mkdir(folder, { recursive: true })
  const shown = `${shortPath(folder)}/`
  let lock: HeldLock
  try {
    lock = await acquireFileLock(snapshotFiles(folder).lock, {
      timeoutMs: options.timeoutMs,
      onWait: (holder) => options.onWait?.(`waiting for ${shown}: another vitest-learn run (process ${holder.pid} on ${holder.host}) is writing it`),
    })
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error
    const { pid, host } = error.holder
    throw new LearnError(
      `another vitest-learn run (process ${pid} on ${host}) has been writing this spec's recordings for more than ${Math.round(error.timeoutMs / 1000)} s, so this run does not touch them`,
      { file: shown, fix: `let the other run finish (or stop it), then run again; if no such process is running, delete ${error.file}` },
    )
  }
  return {
    async release() {
      await lock.release()
      await rmdir(folder).catch(() => {}) // only when empty: a new spec whose run wrote nothing
    },
  }
}
