/**
 * Entry of a worker process (compiled to dist/, started with child_process.fork): installs the
 * resolve hook before anything imports a workspace package, then runs the worker.
 */
import { register } from 'node:module'

register('./resolve-hook.js', import.meta.url)
await import('./worker.js')
