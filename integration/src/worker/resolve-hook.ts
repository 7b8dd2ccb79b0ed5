/**
 * Node module resolve hook for worker processes: `@cacheplane/<package>` resolves to the package's
 * sources compiled into dist/packages/<package>/src, so workers run the code under test as it is
 * in the working tree, without depending on each package's own (possibly stale) build.
 */

const PACKAGES = new Set(['core', 'memory', 'redis', 'memcached', 'nats', 'keyv'])
const SPECIFIER = /^@cacheplane\/([a-z-]+)(\/testing)?$/
// This file is dist/integration/src/worker/resolve-hook.js; the packages are in dist/packages.
const packagesRoot = new URL('../../../packages/', import.meta.url)

interface ResolveResult {
  url: string
  shortCircuit?: boolean
}

type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>

/** Maps workspace package names to their compiled sources; everything else resolves as usual. */
export async function resolve(
  specifier: string,
  context: unknown,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  const match = SPECIFIER.exec(specifier)
  const name = match?.[1]
  if (match === null || name === undefined || !PACKAGES.has(name)) return nextResolve(specifier, context)
  const entry = match[2] === undefined ? 'index.js' : 'testing/index.js'
  return { url: new URL(`${name}/src/${entry}`, packagesRoot).href, shortCircuit: true }
}
