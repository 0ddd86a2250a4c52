import { diffArrays } from 'diff'

/** An instruction as sentences (and line breaks), the unit edits are merged in. */
function sentences(text: string): string[] {
  return text.split(/(?<=[.!?:])[ \t]+|(?=\n)/).filter((part) => part.length > 0)
}

/** What one edit does to the ancestor: for each ancestor position, what replaces the sentence there and what goes before it. */
interface Edit {
  /** Sentences inserted before ancestor sentence i (index `length` is the end). */
  inserted: Map<number, string[]>
  /** Ancestor sentences the edit removed or replaced. */
  removed: Set<number>
}

function editOf(ancestor: readonly string[], child: readonly string[]): Edit {
  const edit: Edit = { inserted: new Map(), removed: new Set() }
  let position = 0
  for (const part of diffArrays([...ancestor], [...child])) {
    if (part.added) edit.inserted.set(position, [...(edit.inserted.get(position) ?? []), ...part.value])
    else {
      if (part.removed) for (let index = 0; index < part.value.length; index++) edit.removed.add(position + index)
      position += part.value.length
    }
  }
  return edit
}

/**
 * Three-way merge of two instructions derived from one ancestor, sentence by sentence: both edits
 * are applied when they change different sentences (sentences both add at one place are kept in
 * order, once each). Undefined when they conflict (one changes a sentence the other also changes
 * or adds next to), or when the merge is just one of the two.
 */
export function mergeInstructions(ancestor: string, first: string, second: string): string | undefined {
  const base = sentences(ancestor)
  const [a, b] = [editOf(base, sentences(first)), editOf(base, sentences(second))]
  const touched = (edit: Edit, index: number) => edit.removed.has(index) || edit.inserted.has(index)
  for (let index = 0; index <= base.length; index++) {
    if ((a.removed.has(index) && touched(b, index)) || (b.removed.has(index) && touched(a, index))) return undefined
  }
  const merged: string[] = []
  for (let index = 0; index <= base.length; index++) {
    const fromA = a.inserted.get(index) ?? []
    const before = [...fromA, ...(b.inserted.get(index) ?? []).filter((part) => !fromA.includes(part))]
    merged.push(...before)
    if (index < base.length && !a.removed.has(index) && !b.removed.has(index)) merged.push(base[index]!)
  }
  const text = joinSentences(merged)
  return text === first || text === second ? undefined : text
}

/** The same for two instructions that hold the same sentences in another order (as merges in another order do). */
export const sentenceSetKey = (instruction: string): string => [...new Set(sentences(instruction).map((part) => part.trim()))].sort().join('\n')

function joinSentences(parts: readonly string[]): string {
  return parts.reduce((text, part) => (text === '' || part.startsWith('\n') ? text + part : `${text} ${part}`), '')
}
