import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** One published entry point: a package's `.` or a subpath such as `./testing`. */
export interface EntryPoint {
  /** `@cacheplane/core`, `@cacheplane/core/testing`, ... */
  readonly specifier: string
  /** The package directory (absolute). */
  readonly dir: string
  /** The entry's declaration file (absolute), from the exports map's `types` condition. */
  readonly types: string
  /** The report's name without extension: `core`, `core-testing`, ... */
  readonly reportName: string
}

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly exports?: Record<string, string | { readonly types?: string }>
}

/**
 * Every entry point of every non-private package under `packages/`, sorted, so a new
 * package or subpath gets a report without editing this tool. Throws when one has not
 * been built (the reports are made from the declaration files).
 */
export function entryPoints(root: string): EntryPoint[] {
  const found: EntryPoint[] = []
  const base = join(root, 'packages')
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const dir = join(base, entry.name)
    const manifestPath = join(dir, 'package.json')
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    if (manifest.private === true) continue
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target !== 'object' || target.types === undefined) continue // ./package.json
      const types = join(dir, target.types)
      if (!existsSync(types)) throw new Error(`${manifest.name}: ${target.types} is missing; build first`)
      const suffix = subpath === '.' ? '' : subpath.slice(1)
      const unscoped = manifest.name.replace(/^@[^/]+\//, '')
      found.push({
        specifier: manifest.name + suffix,
        dir,
        types,
        reportName: unscoped + suffix.replaceAll('/', '-'),
      })
    }
  }
  return found.sort((a, b) => a.specifier.localeCompare(b.specifier))
}
