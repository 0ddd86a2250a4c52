import { LearnError } from '../errors.js'
import { hashText } from '../hash.js'
import { compactJson } from './compact-json.js'
import { parseJsonText, readText } from './files.js'
import type { LearnTape, LearnTapeEntry, LearnTapeRequest, LearnTapeResponse, LearnUsage } from './types.generated.js'
import { assertFormat } from './validate.js'

// tape.json on disk. Format 2 stores each shared prompt text (system prompts, demos, any message
// content used more than once) once, as its lines, in `texts`, ordered by the text itself, so a
// changed instruction shows in a diff as that line changing in place; messages refer to it with
// `text: <id>`. It also leaves out `usage` where the response reports the same, and puts small
// objects on one line. Format 3 is format 2 whose entries may hold the tool calls their answer asked
// for (`tools`); it is written only for a tape that holds some, so a tape without tool calls stays
// format 2, byte for byte, and an older vitest-learn meeting tool calls says to upgrade rather than
// calling the file broken. In memory every entry is whole (format 1's shape), and keys, the hashes
// of whole requests, are the same in every format: migrating re-keys nothing.

/** The oldest format this version writes (for a tape without tool calls): older ones are migrated under -u. */
export const tapeFormat = 2
const readableFormats: readonly number[] = [1, 2, 3]

/** The format a tape of these entries is written in: 3 when any holds tool calls, else 2. */
const formatFor = (entries: readonly LearnTapeEntry[]): LearnTape['format'] => (entries.some((entry) => entry.tools?.length) ? 3 : tapeFormat)

/** A tape format this version cannot read: never overwritten, not even under -u. */
export class TapeFormatError extends LearnError {}

export interface TapeFile {
  format: LearnTape['format']
  spec: string
  /** Whole entries, as recorded. */
  entries: LearnTapeEntry[]
}

/** Token usage as ax reports it (`AxModelUsage`), in the tape's terms. */
export function usageOf(modelUsage: { tokens?: Partial<LearnUsage> } | undefined): LearnUsage | undefined {
  const tokens = modelUsage?.tokens
  if (!tokens) return undefined
  return { promptTokens: tokens.promptTokens ?? 0, completionTokens: tokens.completionTokens ?? 0, totalTokens: tokens.totalTokens ?? 0 }
}

/** The usage a response reports: a chat answer's, or that of a stream's last chunk that has one. */
export function responseUsage(response: LearnTapeResponse): LearnUsage | undefined {
  const reported = response.kind === 'chat' ? [response.chat] : [...response.chunks].reverse()
  return usageOf(reported.find((item) => isRecord(item.modelUsage))?.modelUsage as { tokens?: Partial<LearnUsage> } | undefined)
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null


/** The message with one key renamed and its value replaced, keeping the key's place. */
function swapKey(message: Record<string, unknown>, from: string, to: string, value: unknown): Record<string, unknown> {
  const swapped: Record<string, unknown> = {}
  for (const key of Object.keys(message)) swapped[key === from ? to : key] = key === from ? value : message[key]
  return swapped
}

const isReference = (message: Record<string, unknown>) => typeof message.text === 'string' && !('content' in message)

/** Reads tape.json in any format this version knows; undefined when there is none. */
export async function readTapeFile(path: string, fix: string): Promise<TapeFile | undefined> {
  const text = await readText(path)
  if (text === undefined) return undefined
  const value = parseJsonText(text, path, fix)
  const format = isRecord(value) ? value.format : undefined
  if (typeof format === 'number' && !readableFormats.includes(format))
    throw new TapeFormatError(
      `is tape format ${format}, written by a newer vitest-learn; this version reads formats ${readableFormats.slice(0, -1).join(', ')} and ${readableFormats.at(-1)}. It was left untouched`,
      { file: path, field: 'format', fix: 'upgrade vitest-learn (npm install -D vitest-learn@latest), as whoever recorded it did' },
    )
  assertFormat('tape', value, path, fix)
  assertUniqueKeys(value.entries, path, fix)
  return { format: value.format, spec: value.spec, entries: value.format === 1 ? value.entries : wholeEntries(value, path, fix) }
}

/** Two entries with one key would load as one, and the next write would drop the other. */
function assertUniqueKeys(entries: readonly { key: string }[], path: string, fix: string): void {
  const seen = new Map<string, number>()
  for (const [index, entry] of entries.entries()) {
    const first = seen.get(entry.key)
    if (first !== undefined)
      throw new LearnError(`repeats the key ${entry.key} of entries[${first}]: two recordings cannot share a key`, { file: path, field: `entries[${index}].key`, fix })
    seen.set(entry.key, index)
  }
}

function wholeEntries(tape: LearnTape, path: string, fix: string): LearnTapeEntry[] {
  const texts = new Map(Object.entries(tape.texts ?? {}).map(([id, lines]) => [id, lines.join('\n')]))
  return tape.entries.map((entry, index) => {
    const messages = entry.request.messages.map((message, at) => {
      if (!isReference(message)) return message
      const content = texts.get(message.text as string)
      if (content === undefined)
        throw new LearnError(`refers to text ${JSON.stringify(message.text)}, which is not in texts`, {
          file: path,
          field: `entries[${index}].request.messages[${at}].text`,
          fix,
        })
      return swapKey(message, 'text', 'content', content)
    })
    const usage = entry.usage ?? responseUsage(entry.response)
    return { ...entry, request: { ...entry.request, messages }, ...(usage ? { usage } : {}) }
  })
}

const sameUsage = (a: LearnUsage, b: LearnUsage | undefined) =>
  b !== undefined && a.promptTokens === b.promptTokens && a.completionTokens === b.completionTokens && a.totalTokens === b.totalTokens

/** The text of tape.json in the current format: `entries` sorted by key, whole, as in memory. */
export function tapeText(spec: string, entries: readonly LearnTapeEntry[]): string {
  const uses = new Map<string, number>()
  for (const entry of entries)
    for (const message of entry.request.messages)
      if (typeof message.content === 'string') uses.set(message.content, (uses.get(message.content) ?? 0) + 1)
  const shared = new Map<string, string>()
  const compact = (message: Record<string, unknown>): Record<string, unknown> => {
    const content = message.content
    if (typeof content !== 'string' || 'text' in message || (message.role !== 'system' && uses.get(content)! < 2)) return message
    let id = shared.get(content)
    if (id === undefined) shared.set(content, (id = hashText(content)))
    return swapKey(message, 'content', 'text', id)
  }
  const fileEntries = entries.map(({ key, case: caseId, role, request, response, usage, costUsd, latencyMs, tools }): LearnTapeEntry => {
    const { provider, model, modelConfig, messages, functions, stream } = request
    const fileRequest: LearnTapeRequest = { provider, model, modelConfig, messages: messages.map(compact), functions, stream }
    return {
      key,
      case: caseId,
      role,
      request: fileRequest,
      response,
      ...(usage && !sameUsage(usage, responseUsage(response)) ? { usage } : {}),
      ...(costUsd !== undefined ? { costUsd } : {}),
      latencyMs,
      ...(tools?.length ? { tools } : {}),
    }
  })
  const texts = Object.fromEntries(
    [...shared]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([text, id]) => [id, text.split('\n')]),
  )
  const tape: LearnTape = { format: formatFor(entries), spec, texts, entries: fileEntries }
  return `${compactJson(tape, 100)}\n`
}
