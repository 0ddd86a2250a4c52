import { join, relative } from 'node:path'
import { LearnError } from './errors.js'
import { assertFormat } from './formats/validate.js'
import { snapshotFiles } from './formats/layout.js'
import type { LearnTraceLine } from './formats/types.generated.js'
import type { GateBaseline } from './gate.js'
import { fileAtCommit, resolveCommit } from './git.js'
import { specHashes } from './optimize/spec-hash.js'
import type { SomeLearnSpec } from './spec.js'
import { mean } from './stats.js'

export interface RefBaselineOptions {
  /** A git ref: `origin/main`, a tag, a sha. */
  ref: string
  /** The project root (inside the git repository). */
  root: string
  /** snapshots/<spec name>/, absolute. */
  snapshotDir: string
  spec: SomeLearnSpec
}

const parse = (text: string, file: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new LearnError(`is not valid JSON (${(error as Error).message})`, { file })
  }
}

/**
 * The scores a spec had at another commit, read with git (no checkout): its checkpoint's baseline
 * there, else the scores of the run recorded there (traces.jsonl, a case's replies averaged).
 * Undefined when the commit has neither.
 */
export async function baselineAtRef(options: RefBaselineOptions): Promise<GateBaseline | undefined> {
  const { ref, root, spec } = options
  const resolved = await resolveCommit(ref, root)
  if ('problem' in resolved)
    throw new LearnError(`--baseline-ref ${ref}: ${resolved.problem}`, {
      fix: `fetch it first (git fetch origin); in GitHub Actions, check out with actions/checkout and fetch-depth: 0`,
    })
  const at = `${ref} (${resolved.commit.slice(0, 7)})`
  const files = snapshotFiles(options.snapshotDir)
  const read = async (path: string) => {
    const text = await fileAtCommit(resolved.commit, relative(root, path), root)
    return text === undefined ? undefined : { text, where: `${join(ref, relative(root, path))}` }
  }
  const checkpoint = await read(files.checkpoint)
  if (checkpoint) {
    const value = parse(checkpoint.text, checkpoint.where)
    assertFormat('checkpoint', value, checkpoint.where, `fix the file at ${ref}, or compare with another ref`)
    if (value.baseline) {
      const judgeChanged = value.hashes !== undefined && value.hashes.judge !== specHashes(spec).judge
      return {
        label: `checkpoint v${value.version} at ${at}`,
        scores: value.baseline.scores,
        samples: value.baseline.samples ?? 1,
        ...(judgeChanged ? { incomparable: `the judge (its rubric or prompt) changed since ${ref}, so the scores are not comparable` } : {}),
      }
    }
  }
  const traces = await read(files.traces)
  if (!traces) return undefined
  const byCase = new Map<string, number[]>()
  traces.text.split('\n').forEach((text, index) => {
    if (text.trim() === '') return
    const where = `${traces.where}:${index + 1}`
    const line = parse(text, where)
    assertFormat('trace', line, where, `fix the file at ${ref}, or compare with another ref`)
    const { score } = line as LearnTraceLine
    if (score !== undefined) byCase.set(line.case ?? line.id, [...(byCase.get(line.case ?? line.id) ?? []), score])
  })
  if (byCase.size === 0) return undefined
  return {
    label: `the run recorded at ${at}`,
    scores: Object.fromEntries([...byCase].map(([caseId, scores]) => [caseId, mean(scores)])),
    samples: Math.max(...[...byCase.values()].map((scores) => scores.length)),
  }
}
