/**
 * A unified diff of two texts by line, in one hunk with all context: prompts are short, and the
 * whole instruction reads better than fragments. Empty when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, labels: [string, string] = ['before', 'after']): string {
  if (before === after) return ''
  const old = before.split('\n')
  const now = after.split('\n')
  // Longest common subsequence table, from the end, so the walk below goes forward.
  const common: number[][] = Array.from({ length: old.length + 1 }, () => new Array<number>(now.length + 1).fill(0))
  for (let i = old.length - 1; i >= 0; i--)
    for (let j = now.length - 1; j >= 0; j--)
      common[i]![j] = old[i] === now[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!)
  const lines: string[] = []
  let i = 0
  let j = 0
  while (i < old.length || j < now.length) {
    if (i < old.length && j < now.length && old[i] === now[j]) {
      lines.push(` ${old[i++]}`)
      j++
    } else if (i < old.length && (j === now.length || common[i + 1]![j]! >= common[i]![j + 1]!)) lines.push(`-${old[i++]}`)
    else lines.push(`+${now[j++]}`)
  }
  return [`--- ${labels[0]}`, `+++ ${labels[1]}`, `@@ -1,${old.length} +1,${now.length} @@`, ...lines].join('\n')
}
