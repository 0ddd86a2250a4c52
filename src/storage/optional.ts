import { LearnError } from '../errors.js'

/** Imports an optional peer dependency, or explains which package to install. */
export async function importOptional<T>(specifier: string, what: string, install: string): Promise<T> {
  try {
    return (await import(specifier)) as T
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (error as Error).message.includes(`'${specifier}'`)
    if (missing) throw new LearnError(`${what} needs ${specifier}: ${install}`)
    throw error
  }
}
