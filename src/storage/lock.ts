import { randomBytes } from 'node:crypto'
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { LearnError } from '../errors.js'
import { temporaryPathFor } from '../formats/files.js'
import { isProcessAlive } from '../formats/process.js'

export interface LockOptions {
  /** Give up waiting for a live owner after this long (default 30 s). */
  timeoutMs?: number
  /** A lock of another machine not refreshed for this long is abandoned (default 60 s). */
  staleMs?: number
}

interface Owner {
  pid: number
  host: string
  token: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function parseOwner(text: string): Owner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<Owner>
    if (typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string') return owner as Owner
  } catch {}
  return undefined
}

async function readLock(path: string): Promise<{ text: string; ageMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    return { text, ageMs: Date.now() - info.mtimeMs }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Creates the lock file with its owner already in it: written to a temporary file, then linked
 * to `path`, which fails if the lock exists. So no process ever sees a lock half written, and
 * an empty or unreadable lock cannot belong to a live writer.
 */
async function createLock(path: string, owner: Owner): Promise<boolean> {
  const temporary = temporaryPathFor(path)
  await writeFile(temporary, JSON.stringify(owner), { flag: 'wx' })
  try {
    await link(temporary, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

/** Whether a lock's owner is gone: on this machine its pid tells; another machine's stops refreshing its lock. */
function abandoned(holder: Owner, ageMs: number, staleMs: number): boolean {
  return holder.host === hostname() ? !isProcessAlive(holder.pid) : ageMs > staleMs
}

/**
 * Removes a lock whose owner is gone. The lock is first renamed aside, so of several processes
 * that found it stale only one removes it; if what was renamed turns out to be a newer lock, it
 * is put back (link fails rather than overwrite a lock taken meanwhile).
 */
async function breakLock(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${randomBytes(4).toString('hex')}.stale`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if ((await readFile(aside, 'utf8')) !== staleText) await link(aside, path).catch(() => {})
  await unlink(aside)
}

/** A lock still held by a live owner when the time to wait for it ran out. */
export class LockTimeoutError extends LearnError {
  constructor(
    path: string,
    readonly timeoutMs: number,
    readonly holder: { pid: number; host: string },
  ) {
    super(`could not take this lock within ${timeoutMs} ms; it is held by process ${holder.pid} on ${holder.host}`, {
      file: path,
      fix: `if no vitest-learn process is writing there, delete ${path}`,
    })
  }
}

export interface HeldLock {
  /** Gives the lock up; a lock another process has taken over meanwhile is left alone. */
  release(): Promise<void>
}

export interface AcquireOptions extends LockOptions {
  /** Called once when the lock is held by a live owner and the caller starts to wait. */
  onWait?: (holder: { pid: number; host: string }) => void
}

/**
 * Takes `path`, a lock file, and holds it (refreshing it) until released: safe between processes
 * and between instances in one process. A lock whose owner died on this machine (its pid is gone),
 * an empty or garbled one, is taken over at once; another machine's lock once it has not been
 * refreshed for `staleMs`.
 */
export async function acquireFileLock(path: string, options: AcquireOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const staleMs = options.staleMs ?? 60_000
  const owner: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') }
  const started = Date.now()
  let waiting = false
  for (let attempt = 0; !(await createLock(path, owner)); attempt++) {
    const held = await readLock(path)
    if (held) {
      const holder = parseOwner(held.text)
      // An empty or garbled lock is never a live writer's: createLock writes the owner before the lock exists.
      if (!holder || abandoned(holder, held.ageMs, staleMs)) {
        await breakLock(path, held.text)
        continue
      }
      if (Date.now() - started > timeoutMs) throw new LockTimeoutError(path, timeoutMs, holder)
      if (!waiting) options.onWait?.(holder)
      waiting = true
    }
    await sleep(Math.min(25, 1 + attempt) * (0.5 + Math.random()))
  }

  const refresh = setInterval(() => {
    const now = new Date()
    utimes(path, now, now).catch(() => {})
  }, staleMs / 3)
  refresh.unref()
  let released: Promise<void> | undefined
  return {
    release: () =>
      (released ??= (async () => {
        clearInterval(refresh)
        await unlinkOwn(path, owner.token)
      })()),
  }
}

/** Runs `work` while holding `path`; see acquireFileLock. */
export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireFileLock(path, options)
  try {
    return await work()
  } finally {
    await lock.release()
  }
}

/**
 * Removes `path` if it is a lock whose owner on this machine is gone, or an empty or garbled one,
 * as the next writer would; a live owner's lock, or another machine's, is left alone.
 */
export async function removeAbandonedLock(path: string): Promise<void> {
  const held = await readLock(path).catch(() => undefined)
  if (!held) return
  const holder = parseOwner(held.text)
  if (!holder || (holder.host === hostname() && !isProcessAlive(holder.pid))) await breakLock(path, held.text)
}

async function unlinkOwn(path: string, token: string): Promise<void> {
  const held = await readLock(path)
  if (held && parseOwner(held.text)?.token === token) await unlink(path)
}
