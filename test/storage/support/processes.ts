import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const support = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url))

/** The pid of a process that has exited: no process on this machine has it (until the pid is reused). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  return new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', () => resolve(child.pid as number))
  })
}

/** Starts a TypeScript script of this folder in a child process and resolves once it prints `ready`. */
export function startScript(file: string, args: string[], ready: string): Promise<{ kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', support('register-ts.mjs'), support(file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready:\n${output}`)))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(ready))
        resolve({
          kill: async () => {
            child.kill('SIGKILL')
            await exited
          },
        })
    })
  })
}
