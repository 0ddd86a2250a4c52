import { toPrettyJson } from '../formats/files.js'
import { historyPath, writeCheckpointFiles } from '../formats/checkpoint-folder.js'
import { snapshotFiles } from '../formats/layout.js'
import type { LearnCheckpoint, LearnProgramState } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { redact } from '../redact.js'

export { historyPath, latestVersion, readCurrentCheckpoint as readCheckpoint } from '../formats/checkpoint-folder.js'

/**
 * Validates, then writes checkpoint.json and its history file, in the order a crash cannot invert.
 * `secrets` (the models' keys) are redacted: a teacher may repeat one in the text it proposes.
 */
export async function writeCheckpoint(snapshotDir: string, checkpoint: LearnCheckpoint, secrets: readonly string[] = []): Promise<{ current: string; history: string }> {
  const current = snapshotFiles(snapshotDir).checkpoint
  assertFormat('checkpoint', checkpoint, current, 'this is a bug in vitest-learn: please report it with the spec')
  await writeCheckpointFiles(snapshotDir, new Map([[checkpoint.version, redact(toPrettyJson(checkpoint), secrets)]]))
  return { current, history: historyPath(snapshotDir, checkpoint.version) }
}

/** What a checkpoint keeps of a program: its texts, demos and model settings, never the training set. */
export function committedProgram(state: LearnProgramState): LearnProgramState {
  return {
    instruction: state.instruction,
    ...(state.demos?.length ? { demos: state.demos } : {}),
    ...(state.componentMap ? { componentMap: state.componentMap } : {}),
    ...(state.modelConfig && Object.keys(state.modelConfig).length > 0 ? { modelConfig: state.modelConfig } : {}),
  }
}
