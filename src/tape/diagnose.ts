import type { LearnTapeEntry, LearnTapeRequest } from '../formats/types.generated.js'
import { stableStringify } from '../hash.js'

function messageText(request: LearnTapeRequest): string[] {
  return request.messages.flatMap((message) => {
    const content = message.content
    const text = typeof content === 'string' ? content : stableStringify(content ?? message)
    return [`[${String(message.role)}]`, ...text.split('\n')]
  })
}

function firstDifference(before: LearnTapeRequest, after: LearnTapeRequest): string {
  const old = messageText(before)
  const now = messageText(after)
  for (let index = 0; index < Math.max(old.length, now.length); index++) {
    if (old[index] !== now[index]) {
      const clip = (line: string | undefined) => (line === undefined ? '(nothing)' : JSON.stringify(line.length > 100 ? `${line.slice(0, 97)}...` : line))
      return `first changed line ${index + 1} of the prompt: recorded ${clip(old[index])}, now ${clip(now[index])}`
    }
  }
  return 'the functions or call options differ'
}

/** Why a call has no recording: a new case, another model, another config, or a changed prompt. */
export function explainMiss(
  request: LearnTapeRequest,
  recordedForSameCase: readonly LearnTapeEntry[],
): string {
  if (recordedForSameCase.length === 0) return 'new case: nothing was recorded for it yet'
  const sameModel = recordedForSameCase.filter(
    (entry) => entry.request.provider === request.provider && entry.request.model === request.model,
  )
  if (sameModel.length === 0) {
    const was = recordedForSameCase[0]!.request
    return `model changed: recorded with ${was.provider}/${was.model}, now ${request.provider}/${request.model}`
  }
  const sameConfig = sameModel.filter(
    (entry) => stableStringify(entry.request.modelConfig) === stableStringify(request.modelConfig) && entry.request.stream === request.stream,
  )
  if (sameConfig.length === 0) return 'model config changed (temperature, max tokens, streaming or similar)'
  const closest = sameConfig.find((entry) => entry.request.messages.length === request.messages.length) ?? sameConfig[0]!
  return `prompt changed (instruction, demos, checkpoint or input): ${firstDifference(closest.request, request)}`
}
