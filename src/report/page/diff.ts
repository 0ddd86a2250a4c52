// Side-by-side diffs of program versions (instruction and demos), computed with the `diff` package:
// each side is a list of segments, common or changed.
import { diffWords } from 'diff'
import type { ProgramVersion } from './model.js'

export interface Segment {
  text: string
  changed: boolean
}

export interface SideBySide {
  left: Segment[]
  right: Segment[]
  same: boolean
}

export interface VersionDiff {
  from: string
  to: string
  instruction: SideBySide
  demos: SideBySide
}

function sideBySide(before: string, after: string): SideBySide {
  const left: Segment[] = []
  const right: Segment[] = []
  for (const part of diffWords(before, after)) {
    if (!part.added) left.push({ text: part.value, changed: part.removed })
    if (!part.removed) right.push({ text: part.value, changed: part.added })
  }
  return { left, right, same: before === after }
}

/** Up to this many versions, every pair is diffed; above it, each version against the next and against the newest. */
const allPairsUpTo = 16

export function versionPairs(count: number): [number, number][] {
  const pairs: [number, number][] = []
  for (let to = 1; to < count; to++)
    for (let from = 0; from < to; from++) if (count <= allPairsUpTo || from === to - 1 || to === count - 1) pairs.push([from, to])
  return pairs
}

export function versionDiffs(versions: readonly ProgramVersion[]): VersionDiff[] {
  return versionPairs(versions.length).map(([from, to]) => {
    const a = versions[from]!
    const b = versions[to]!
    return { from: a.label, to: b.label, instruction: sideBySide(a.instruction, b.instruction), demos: sideBySide(a.demos, b.demos) }
  })
}
