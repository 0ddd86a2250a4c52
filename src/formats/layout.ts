import { join } from 'node:path'

/** The files of one spec's folder, snapshots/<spec name>/. */
export const snapshotFiles = (snapshotDir: string) => ({
  tape: join(snapshotDir, 'tape.json'),
  traces: join(snapshotDir, 'traces.jsonl'),
  checkpoint: join(snapshotDir, 'checkpoint.json'),
  /** One record per optimize run (optimize-run.schema.json), named by when it started. */
  optimizeRuns: join(snapshotDir, 'optimize-runs'),
  /** Held by the process writing the folder (a test run, optimize, a files store). */
  lock: join(snapshotDir, '.vitest-learn.lock'),
})
