import { execFile } from 'node:child_process'

interface GitResult {
  ok: boolean
  stdout: string
  /** git's own complaint, or why git could not run. */
  problem: string
}

/** Runs git in `cwd`, never throwing: a missing git or a repository-less folder is an outcome like any other. */
function git(cwd: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT'
      resolve({ ok: !error, stdout, problem: missing ? 'git is not installed (or not on PATH)' : stderr.trim().split('\n')[0] ?? '' })
    })
  })
}

/** The commit checked out in `cwd`; undefined outside a git repository. */
export async function headCommit(cwd: string): Promise<string | undefined> {
  const result = await git(cwd, ['rev-parse', 'HEAD'])
  return result.ok ? result.stdout.trim() : undefined
}

/** The commit `ref` names (a branch, tag, `origin/main`, a sha), or why it names none. */
export async function resolveCommit(ref: string, cwd: string): Promise<{ commit: string } | { problem: string }> {
  const result = await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])
  return result.ok ? { commit: result.stdout.trim() } : { problem: result.problem || `${ref} names no commit of this repository` }
}

/** A file's text at a commit, without a checkout; undefined when the commit does not have it. `path` is relative to `cwd`. */
export async function fileAtCommit(commit: string, path: string, cwd: string): Promise<string | undefined> {
  const result = await git(cwd, ['show', `${commit}:./${path}`])
  return result.ok ? result.stdout : undefined
}
