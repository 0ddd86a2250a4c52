/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), ignoring case. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  // rows[i][j]: distance between the first i characters of x and the first j of y.
  const rows = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[x.length]![y.length]!
}

/** The candidate `word` most likely misspells: the nearest, when it is within a third of the word's length (at least 1, at most 3 edits). */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)))
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate)
    if (distance <= allowed && (!best || distance < best.distance)) best = { candidate, distance }
  }
  return best?.candidate
}

/** `unknown field "threshhold"; did you mean "threshold"?`, or the list of known names when none is close. */
export function unknownNameMessage(kind: string, name: string, known: readonly string[]): string {
  const match = closestMatch(name, known)
  return match ? `unknown ${kind} "${name}"; did you mean "${match}"?` : `unknown ${kind} "${name}"; the ${kind}s are ${known.join(', ')}`
}
