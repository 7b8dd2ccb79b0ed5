import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A package the workspace publishes. */
export interface PublicPackage {
  /** `@cacheplane/...` */
  readonly name: string
  /** Absolute directory. */
  readonly dir: string
  /** Its peer dependencies that are not optional and not our own packages, name to range. */
  readonly peers: Readonly<Record<string, string>>
}

interface Manifest {
  name: string
  private?: boolean
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}

/**
 * Every non-private package under `packages/`, so a new public package is checked
 * without editing this tool. Throws when one has not been built (`dist/` missing).
 */
export function publicPackages(root: string): PublicPackage[] {
  const base = join(root, 'packages')
  const found: PublicPackage[] = []
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const manifestPath = join(base, entry.name, 'package.json')
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    if (manifest.private === true) continue
    const dir = join(base, entry.name)
    if (!existsSync(join(dir, 'dist'))) {
      throw new Error(`${manifest.name} has no dist/: run 'pnpm build' first`)
    }
    const peers: Record<string, string> = {}
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (peer.startsWith('@cacheplane/') || manifest.peerDependenciesMeta?.[peer]?.optional === true)
        continue
      peers[peer] = range
    }
    found.push({ name: manifest.name, dir, peers })
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}
