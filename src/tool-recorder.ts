import type { AxAIService, AxFunction } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import type { LearnToolCall } from './formats/types.generated.js'
import { ObservedService } from './observed-service.js'
import type { LearnTrajectory } from './spec.js'
import { TapeService } from './tape/service.js'
import { asRecorded, toolErrorOf } from './tape/tool-calls.js'

/** A result as the trajectory shows it: as JSON keeps it, or as text when JSON cannot hold it (a live tool's). */
function shown(result: unknown): unknown {
  try {
    return asRecorded(result, 'a tool result')
  } catch {
    return String(result)
  }
}

/**
 * One run of a program (a case, an evaluation): its tools' handlers, and what it did. A tool call is
 * answered through the tape of the model call that asked for it (recorded, replayed, or stale in
 * CI); a live tool always runs. Every call, live or not, joins the trajectory the metric and the
 * judge see, with the number of model calls made.
 */
export class ToolRecorder {
  private readonly toolCalls: LearnToolCall[] = []
  private counted = 0
  /** The student service to run the program with: the given one, its model calls counted (a tape service counts its own). */
  readonly service: AxAIService

  constructor(
    private readonly student: AxAIService,
    private readonly liveTools: readonly string[],
  ) {
    this.service = student instanceof TapeService ? student : new ObservedService(student, { after: () => this.counted++ })
  }

  /** A recorder for one more run at once on `student`: a tape service is forked, so the last model call it knows is this run's. */
  static forRun(student: AxAIService, liveTools: readonly string[]): ToolRecorder {
    return new ToolRecorder(student instanceof TapeService ? student.fork() : student, liveTools)
  }

  /** The tool, with a handler that goes through the tape (or runs, for a live tool) and joins the trajectory. */
  readonly wrap = (tool: AxFunction): AxFunction => ({ ...tool, func: (args?: Record<string, unknown>, extra?) => this.call(tool, args ?? {}, () => Promise.resolve(tool.func(args, extra))) })

  get trajectory(): LearnTrajectory {
    return { toolCalls: this.toolCalls.map((call) => ({ ...call })), steps: this.student instanceof TapeService ? this.student.calls : this.counted }
  }

  private async call(tool: AxFunction, args: Record<string, unknown>, handler: () => Promise<unknown>): Promise<unknown> {
    const slot = this.toolCalls.length
    const call: LearnToolCall = { name: tool.name, arguments: args }
    this.toolCalls.push(call)
    const tape = this.liveTools.includes(tool.name) || !(this.student instanceof TapeService) ? undefined : this.student
    const calls = tape?.toolCalls()
    if (tape && !calls)
      throw new LearnError(`tool ${tool.name} was called before any model call asked for it, so there is no recording to put it with`, {
        fix: 'call tools only from the program (through the model), or list it in liveTools',
      })
    try {
      const result = calls ? await calls.run(tool.name, args, handler) : await handler()
      this.toolCalls[slot] = { ...call, ...(result !== undefined ? { result: shown(result) } : {}) }
      return result
    } catch (error) {
      this.toolCalls[slot] = { ...call, error: toolErrorOf(error) }
      throw error
    }
  }
}
