import { AsyncLocalStorage } from 'node:async_hooks'

/** A live answer waiting for its step to succeed, and how to keep it. */
export interface PendingRecording {
  commit(): void
}

/** A lookup made inside a step, undone if the step fails so a retry asks under the same key. */
export interface StepLookup {
  undo(): void
}

interface Step {
  recordings: PendingRecording[]
  lookups: StepLookup[]
}

const current = new AsyncLocalStorage<Step>()

/**
 * Steps matter only where answers may be recorded. Until a tape that records is loaded, steps are
 * not tracked: the first AsyncLocalStorage#run() makes every promise of the process pay for async
 * context tracking (10% of a replay's CPU), and a replay-only run (CI) records nothing to hold back.
 */
let tracking = false

/** A tape that may record was loaded in this process: from now on, steps are tracked. */
export function trackSteps(): void {
  tracking = true
}

/**
 * Runs one step of a case (a program's forward, a judge's verdict) so that what it records is kept
 * only if the whole step succeeds: an answer that ax could not parse, or a verdict out of range,
 * never reaches a tape. A failed step also undoes its occurrence counts, so its retry (or the next
 * run) looks the call up under the key a replay will use.
 */
export async function inStep<T>(run: () => Promise<T>): Promise<T> {
  if (!tracking) return run()
  const step: Step = { recordings: [], lookups: [] }
  let result: T
  try {
    result = await current.run(step, run)
  } catch (error) {
    for (const lookup of step.lookups.reverse()) lookup.undo()
    throw error
  }
  const parent = current.getStore()
  if (parent) {
    parent.recordings.push(...step.recordings)
    parent.lookups.push(...step.lookups)
  } else for (const recording of step.recordings) recording.commit()
  return result
}

/** Keeps a live answer now, or when the step it was made in succeeds. */
export function recordInStep(recording: PendingRecording): void {
  const step = current.getStore()
  if (step) step.recordings.push(recording)
  else recording.commit()
}

export function noteLookup(lookup: StepLookup): void {
  current.getStore()?.lookups.push(lookup)
}
