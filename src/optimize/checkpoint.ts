import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readJsonFile, toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnCheckpoint, LearnProgramState } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { snapshotFiles } from '../formats/layout.js'

export const historyDir = (snapshotDir: string): string => join(snapshotDir, 'checkpoints')
export const historyPath = (snapshotDir: string, version: number): string => join(historyDir(snapshotDir), `v${version}.json`)

/** The current checkpoint (snapshots/<spec>/checkpoint.json), validated; undefined when there is none. */
export function readCheckpoint(snapshotDir: string): Promise<LearnCheckpoint | undefined> {
  const path = snapshotFiles(snapshotDir).checkpoint
  return readJsonFile(path, 'checkpoint', `fix the file, or restore it from ${historyDir(snapshotDir)}/ or from git`)
}

/** The highest version on disk, current or in the history, so a new version never overwrites one. */
export async function latestVersion(snapshotDir: string, current: LearnCheckpoint | undefined): Promise<number> {
  let names: string[] = []
  try {
    names = await readdir(historyDir(snapshotDir))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const versions = names.map((name) => /^v(\d+)\.json$/.exec(name)?.[1]).filter((version) => version !== undefined).map(Number)
  return Math.max(current?.version ?? 0, ...versions)
}

/** Validates, then writes the history file first and the current checkpoint last, each atomically. */
export async function writeCheckpoint(snapshotDir: string, checkpoint: LearnCheckpoint): Promise<{ current: string; history: string }> {
  const current = snapshotFiles(snapshotDir).checkpoint
  const history = historyPath(snapshotDir, checkpoint.version)
  assertFormat('checkpoint', checkpoint, current, 'this is a bug in vitest-learn: please report it with the spec')
  const text = toPrettyJson(checkpoint)
  await writeFileAtomic(history, text)
  await writeFileAtomic(current, text)
  return { current, history }
}

/** What a checkpoint keeps of a program: its texts and demos, never the training set. */
export function committedProgram(state: LearnProgramState): LearnProgramState {
  return {
    instruction: state.instruction,
    ...(state.demos?.length ? { demos: state.demos } : {}),
    ...(state.componentMap ? { componentMap: state.componentMap } : {}),
  }
}
