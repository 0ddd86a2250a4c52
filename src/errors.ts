import { isAbsolute, relative } from 'node:path'

/** A path below the working directory is shown relative to it, as a user would type it. */
export function shortPath(file: string): string {
  if (!isAbsolute(file)) return file
  const below = relative(process.cwd(), file)
  return below.startsWith('..') || isAbsolute(below) ? file : below
}

/**
 * Every error the library raises: what happened, where (file and field when there is one),
 * and the command or edit that fixes it.
 */
export class LearnError extends Error {
  override name = 'LearnError'
  readonly file: string | undefined
  readonly field: string | undefined
  readonly fix: string | undefined
  /** The message without its location and fix. */
  readonly detail: string

  constructor(message: string, where: { file?: string; field?: string; fix?: string } = {}) {
    const location = [where.file && shortPath(where.file), where.field].filter(Boolean).join(' › ')
    super([location ? `${location}: ${message}` : message, where.fix ? `  fix: ${where.fix}` : '']
      .filter(Boolean)
      .join('\n'))
    this.file = where.file
    this.field = where.field
    this.fix = where.fix
    this.detail = message
  }

  /** The same error, located in a file. */
  inFile(file: string): LearnError {
    return new LearnError(this.detail, { file, field: this.field, fix: this.fix })
  }
}

/** The first error of a type in an error's cause chain (ax wraps what a service throws, as `cause`). */
export function causeOfType<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let item = error; item instanceof Error; item = item.cause) if (item instanceof type) return item
  return undefined
}
