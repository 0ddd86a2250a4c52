import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises'
import { hostname } from 'node:os'
import { LearnError } from '../errors.js'

export interface LockOptions {
  /** Give up waiting after this long (default 30 s). */
  timeoutMs?: number
  /** A lock not refreshed for this long is abandoned, even when its owner cannot be checked (default 60 s). */
  staleMs?: number
}

interface Owner {
  pid: number
  host: string
  token: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

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

/**
 * Runs `work` while holding `path`, a lock file created with O_EXCL ('wx'): safe between
 * processes and between instances in one process. A crashed owner's lock is detected (its pid is
 * gone on this host, or it has not been refreshed for `staleMs`) and removed.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const staleMs = options.staleMs ?? 60_000
  const owner: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') }
  const started = Date.now()
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(JSON.stringify(owner))
      } catch (error) {
        await unlink(path).catch(() => {})
        throw error
      } finally {
        await handle.close()
      }
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const held = await readLock(path)
    if (held) {
      const holder = parseOwner(held.text)
      const dead = holder !== undefined && holder.host === owner.host && !isAlive(holder.pid)
      // An unreadable lock is one being written right now, unless it is old.
      if (dead || held.ageMs > staleMs) {
        await breakLock(path, held.text)
        continue
      }
      if (Date.now() - started > timeoutMs) {
        throw new LearnError(
          `could not take this lock within ${timeoutMs} ms; it is held by ${holder ? `process ${holder.pid} on ${holder.host}` : 'another process'}`,
          { file: path, fix: `if no vitest-learn process is writing there, delete ${path}` },
        )
      }
    }
    await sleep(Math.min(25, 1 + attempt) * (0.5 + Math.random()))
  }

  const refresh = setInterval(() => {
    const now = new Date()
    utimes(path, now, now).catch(() => {})
  }, staleMs / 3)
  refresh.unref()
  try {
    return await work()
  } finally {
    clearInterval(refresh)
    await unlinkOwn(path, owner.token)
  }
}

async function unlinkOwn(path: string, token: string): Promise<void> {
  const held = await readLock(path)
  if (held && parseOwner(held.text)?.token === token) await unlink(path)
}
