import { access, readdir } from 'node:fs/promises'
import { join } from 'node:path'
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

/** Removes the temporary files that writers killed mid-write left in a spec's folder (or a store's) and its checkpoints/. */
export async function removeCrashDebris(folder: string): Promise<void> {
  await Promise.all([removeStaleTemporaries(folder), removeStaleTemporaries(historyDir(folder))])
}

/** removeCrashDebris() in every folder of the plugin's snapshot folder. */
export async function removeCrashDebrisBelow(snapshotDir: string): Promise<void> {
  await Promise.all((await subfolders(snapshotDir)).map(removeCrashDebris))
}
