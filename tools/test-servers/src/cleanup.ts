import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

// Everything started by this process, so nothing outlives the test run even when a
// test forgets to stop a server or the run is interrupted.
const children = new Set<ChildProcess>()
const directories = new Set<string>()
let installed = false

/** Remembers a child process to SIGKILL when this process exits. */
export function trackChild(child: ChildProcess): void {
  installHooks()
  children.add(child)
  child.once('exit', () => children.delete(child))
}

/** Forgets a child process that was stopped normally. */
export function untrackChild(child: ChildProcess): void {
  children.delete(child)
}

/** Remembers a temporary directory to remove when this process exits. */
export function trackDirectory(path: string): void {
  installHooks()
  directories.add(path)
}

/** Removes a temporary directory now and forgets it. */
export function removeDirectory(path: string): void {
  directories.delete(path)
  rmSync(path, { recursive: true, force: true })
}

function cleanupSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const path of directories) rmSync(path, { recursive: true, force: true })
  directories.clear()
}

function installHooks(): void {
  if (installed) return
  installed = true
  process.on('exit', cleanupSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupSync()
      process.removeListener(signal, onSignal)
      // Keep the default behaviour (exit) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}
