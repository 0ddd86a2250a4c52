/**
 * Failure themes: the problems a judge (or a metric) names, grouped across every case evaluated so
 * far, so that each proposal can target one problem with all the cases that show it.
 */

/** One problem as a judge stated it, and the key that groups its rewordings. */
export interface Problem {
  key: string
  text: string
}

/** A problem seen on several cases, and those cases. */
export interface Theme {
  key: string
  /** The wording of its first occurrence. */
  text: string
  caseIds: string[]
}

const praise = /^(meets|satisfies|follows|fulfils|fulfills|complies|good|great|perfect|excellent|correct|fine|ok|all (requirements|rules|criteria))\b|\bno (issues|problems)\b|^score \d/i
const stopwords = new Set(
  'a an the and or but of to in on for with at by from as is are was were be been it its this that these those not no do does did has have had than then there their they them you your we our us'.split(' '),
)

/** Content words of a sentence, lowercased, in order. */
const wordsOf = (text: string): string[] => text.toLowerCase().match(/[a-z][a-z'-]*|\d+/g)?.filter((word) => !stopwords.has(word)) ?? []

/**
 * What two wordings of one problem share: their content words and word pairs. The pairs keep the
 * order, so "expected high, got normal" and "expected normal, got high" are different problems.
 */
const contentWords = (text: string): Set<string> => {
  const words = wordsOf(text)
  return new Set([...words, ...words.slice(1).map((word, index) => `${words[index]} ${word}`)])
}

/** The sentences of a judge's reasons that state a problem (praise and bare scores are not problems). */
export function problemsOf(reasons: string): Problem[] {
  return reasons
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim().replace(/^[-*•]\s*/, ''))
    .filter((sentence) => sentence.length > 0 && !praise.test(sentence))
    .map((text) => ({ key: wordsOf(text).join(' ') || text.toLowerCase(), text }))
}

const similarity = (a: Set<string>, b: Set<string>): number => {
  let shared = 0
  for (const word of a) if (b.has(word)) shared++
  return shared / (a.size + b.size - shared || 1)
}

/**
 * Groups the problems of failing cases into themes, most widespread first. Two wordings belong to
 * one theme when they share most of their content words and word pairs (Jaccard >= `sameWords`).
 */
export function themesOf(cases: Iterable<{ caseId: string; problems: readonly Problem[] }>, sameWords = 0.6): Theme[] {
  const themes: (Theme & { words: Set<string> })[] = []
  for (const { caseId, problems } of cases) {
    for (const problem of problems) {
      const words = contentWords(problem.text)
      const theme =
        themes.find((candidate) => candidate.key === problem.key) ??
        themes.find((candidate) => similarity(candidate.words, words) >= sameWords)
      if (!theme) themes.push({ key: problem.key, text: problem.text, caseIds: [caseId], words })
      else if (!theme.caseIds.includes(caseId)) theme.caseIds.push(caseId)
    }
  }
  return themes
    .sort((a, b) => b.caseIds.length - a.caseIds.length || (a.key < b.key ? -1 : 1))
    .map(({ key, text, caseIds }) => ({ key, text, caseIds }))
}

/** Whether a case's problems include a theme (the same key, or a rewording of it). */
export function showsTheme(problems: readonly Problem[], theme: Pick<Theme, 'key' | 'text'>, sameWords = 0.6): boolean {
  const words = contentWords(theme.text)
  return problems.some((problem) => problem.key === theme.key || similarity(contentWords(problem.text), words) >= sameWords)
}
