// scripts/setup-postgres.sh, which `npm test` runs first, as a user who is not root would meet it on
// a fresh machine: run as `nobody` in a network namespace of its own, where nothing listens on 5432.
import { spawnSync } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { repoRoot } from './support/project.js'

const isRoot = process.getuid?.() === 0

describe.skipIf(!isRoot)(`setup-postgres.sh as a user who is not root${isRoot ? '' : ' (skipped: becoming another user needs root; CI runs as root)'}`, () => {
  let dir: string
  let script: string
  let stubs: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'learn-setup-postgres-'))
    await chmod(dir, 0o755)
    script = join(dir, 'setup-postgres.sh')
    await copyFile(join(repoRoot, 'scripts/setup-postgres.sh'), script)
    stubs = join(dir, 'bin')
    await mkdir(stubs)
    // A sudo this user may use; it only says how it was called.
    await writeFile(join(stubs, 'sudo'), '#!/bin/sh\necho "sudo called: $*"\n', { mode: 0o755 })
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  /** Runs the script as nobody in a fresh network namespace; `listen` first opens 127.0.0.1:5432 there. */
  function runAsNobody(options: { sudo: boolean; listen?: boolean; env?: Record<string, string> }) {
    const path = `${options.sudo ? `${stubs}:` : ''}/usr/sbin:/usr/bin:/sbin:/bin`
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-i', `PATH=${path}`, ...Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`), 'bash', script]
    const listener = `
      const net = require('node:net')
      const server = net.createServer((socket) => socket.end()).listen(5432, '127.0.0.1', () => {
        const result = require('node:child_process').spawnSync(process.argv[1], process.argv.slice(2), { stdio: 'inherit' })
        server.close()
        process.exit(result.status ?? 1)
      })`
    const inside = options.listen ? ['sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, '-e', listener, ...asNobody] : asNobody
    return spawnSync('unshare', ['--net', ...inside], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  }

  it('with no server and no sudo: says what to run, and exits 0 so the other tests still run', () => {
    const result = runAsNobody({ sudo: false })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toContain('PostgreSQL is not running on 127.0.0.1:5432, and installing it needs root')
    expect(result.stderr).toContain('as root, run: bash scripts/setup-postgres.sh')
    expect(result.stderr).toContain('LEARN_TEST_POSTGRES=skip npm test')
  })

  it('with no server and sudo: runs itself through sudo', () => {
    const result = runAsNobody({ sudo: true })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout).toContain(`sudo called: bash ${script}`)
  })

  it('with a server answering on 127.0.0.1:5432: uses it, needing neither root nor sudo', () => {
    const result = runAsNobody({ sudo: true, listen: true })
    expect(result.status, result.stderr).toBe(0)
    expect(result.stdout + result.stderr).toBe('')
  })

  it('does nothing when the Postgres tests are skipped, or pointed at another server', () => {
    const envs: Record<string, string>[] = [{ LEARN_TEST_POSTGRES: 'skip' }, { LEARN_TEST_POSTGRES_URL: 'postgres://u:p@127.0.0.1:6543/db' }]
    for (const env of envs) {
      const result = runAsNobody({ sudo: true, env })
      expect(result.status, result.stderr).toBe(0)
      expect(result.stdout + result.stderr).toBe('')
    }
  })
})

describe('the Postgres storage tests without a server', () => {
  it('fail saying what to run, instead of a bare ECONNREFUSED', async () => {
    vi.stubEnv('LEARN_TEST_POSTGRES_URL', 'postgres://postgres:postgres@127.0.0.1:1/postgres')
    vi.resetModules()
    try {
      const { requirePostgres } = await import('./storage/support/postgres.js')
      await expect(requirePostgres()).rejects.toThrow(
        /the Postgres storage tests need a PostgreSQL server at 127\.0\.0\.1:1, and none answers \(connect ECONNREFUSED.*\)\.\n {2}fix: as root, run `bash scripts\/setup-postgres\.sh`[\s\S]*LEARN_TEST_POSTGRES=skip/,
      )
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
    }
  })
})
