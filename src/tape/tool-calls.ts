import { AxFunctionError } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import type { LearnTapeEntry, LearnToolCall, LearnToolError } from '../formats/types.generated.js'
import { stableStringify } from '../hash.js'
import type { Tape } from './tape.js'

/** A model call as the tape answered it: its entry is the recording replayed, or the one being recorded. */
interface ModelCall {
  entry: LearnTapeEntry
  replayed: boolean
}

const same = (a: unknown, b: unknown) => stableStringify(a) === stableStringify(b)

/** A value as JSON keeps it (undefined stays undefined): what a recording holds and a replay returns. */
export function asRecorded(value: unknown, what: string): unknown {
  if (value === undefined) return undefined
  try {
    const text = JSON.stringify(value)
    return text === undefined ? undefined : (JSON.parse(text) as unknown)
  } catch (error) {
    throw new LearnError(`${what} cannot be recorded as JSON: ${error instanceof Error ? error.message : String(error)}`, {
      fix: 'make the tool return JSON data (objects, arrays, strings, numbers, booleans, null), or list it in liveTools if it is pure and local',
    })
  }
}

/** An error as the tape keeps it; ax's AxFunctionError (arguments the tool rejects, told to the model) keeps its fields. */
export function toolErrorOf(error: unknown): LearnToolError {
  const message = error instanceof Error ? error.message : String(error)
  return error instanceof AxFunctionError ? { message, fields: error.getFields() } : { message }
}

/** The outcome a recording holds, as the tool gave it: its result, or its error thrown again. */
function replayOutcome(call: LearnToolCall): unknown {
  if (!call.error) return structuredClone(call.result)
  if (call.error.fields) throw new AxFunctionError(call.error.fields)
  throw new Error(call.error.message)
}

/** `order_id: recorded "A-1042", now "#A-1042"` for each argument that differs. */
function argumentDifferences(recorded: Record<string, unknown>, now: Record<string, unknown>): string {
  const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value))
  return [...new Set([...Object.keys(recorded), ...Object.keys(now)])]
    .filter((name) => !same(recorded[name], now[name]))
    .map((name) => `${name}: recorded ${show(recorded[name])}, now ${show(now[name])}`)
    .join('; ')
}

/**
 * The tool calls one model call asked for. Each is answered from that call's recording when one
 * with the same tool and arguments is there (in replay the handler is not run); otherwise, except
 * in replay-only mode, the handler runs and the call is recorded with the model call, kept when its
 * step succeeds. Calls keep the order they were made in, also when ax runs them at once.
 */
export class ToolCalls {
  private readonly made: LearnToolCall[] = []
  private readonly used = new Set<number>()
  private recording = false

  constructor(
    private readonly tape: Tape,
    private readonly call: ModelCall,
    private readonly context: { caseId: string; role: LearnTapeEntry['role'] },
    /** The tool calls of the call that answered this one live, when that was a tape too (optimize's call cache): asked before the handler. */
    private readonly upstream?: ToolCalls,
  ) {}

  async run(name: string, args: Record<string, unknown>, handler: () => Promise<unknown>): Promise<unknown> {
    const slot = this.made.length
    const call: LearnToolCall = { name, arguments: asRecorded(args, `the arguments of tool ${name}`) as Record<string, unknown> }
    this.made.push(call)
    const index = this.call.replayed ? this.recordedIndex(call) : -1
    if (index >= 0) {
      this.used.add(index)
      this.made[slot] = this.call.entry.tools![index]!
      return replayOutcome(this.made[slot])
    }
    if (this.tape.mode === 'none') throw this.miss(call)
    let result: unknown
    try {
      result = await (this.upstream ? this.upstream.run(name, args, handler) : handler())
    } catch (error) {
      this.made[slot] = { ...call, error: toolErrorOf(error) }
      this.record()
      throw error
    }
    const kept = asRecorded(result, `the result of tool ${name}`)
    this.made[slot] = { ...call, ...(kept !== undefined ? { result: kept } : {}) }
    this.record()
    return result
  }

  /** The first recorded call of this tool with these arguments not answered yet, or -1. */
  private recordedIndex(call: LearnToolCall): number {
    return (this.call.entry.tools ?? []).findIndex((recorded, index) => !this.used.has(index) && recorded.name === call.name && same(recorded.arguments, call.arguments))
  }

  /** The tool calls go with the model call: in its new recording, or in a recording of it made again. */
  private record(): void {
    if (this.recording) return
    this.recording = true
    if (this.call.replayed) this.tape.record({ ...this.call.entry, tools: this.made })
    else this.call.entry.tools = this.made
  }

  private miss(call: LearnToolCall): LearnError {
    const recorded = (this.call.entry.tools ?? []).filter((other, index) => !this.used.has(index))
    const sameTool = recorded.find((other) => other.name === call.name)
    const why = sameTool
      ? `was called with other arguments than recorded (${argumentDifferences(sameTool.arguments, call.arguments)})`
      : this.call.entry.tools?.length
        ? `was not called when this was recorded (recorded: ${[...new Set(this.call.entry.tools.map((other) => other.name))].join(', ')})`
        : 'has no recorded result: the model call that asked for it was recorded without tool calls'
    return this.tape.missing(
      this.context.caseId,
      this.call.entry.key,
      `tool ${call.name}, called after a ${this.context.role} call of case ${this.context.caseId}, ${why}. CI replays recordings only and runs no tool but those in liveTools`,
    )
  }
}
