/**
 * The pack-and-install check: proves the artifacts we would publish work, not the
 * workspace. Every public package is packed with `pnpm pack` (which rewrites
 * `workspace:` and `catalog:` ranges as publishing does), the tarballs are installed
 * with npm into a scratch project under the OS temp directory (outside the workspace,
 * so nothing resolves through workspace links), and there:
 *   - smoke.mjs imports every entry point and does a get/set round trip through memory
 *     handles and the in-process backplane (two managers; a set on one evicts the other's copy);
 *   - the `cacheplane` bin answers `--help` and runs `demo`;
 *   - fixtures/consumer.ts type-checks against the installed declaration files (NodeNext, strict).
 * Exits 1 and says which step failed (keeping the scratch directory) on any failure.
 *
 * Usage: node dist/main.js [--keep]   (--keep leaves the scratch directory in place)
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type PublicPackage, publicPackages } from './public-packages.js'
import { CommandFailedError, runCommand } from './run-command.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const keep = process.argv.includes('--keep')
const work = mkdtempSync(join(tmpdir(), 'cacheplane-pack-check-'))
const tarballs = join(work, 'tarballs')
const app = join(work, 'app')

const require = createRequire(import.meta.url)

/** How an application compiles against our packages; skipLibCheck as most applications do. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
  files: ['consumer.ts'],
}

// npm must not inherit the pnpm run's npm_config_* settings (registry, user agent, workspace paths).
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_)/i.test(key)),
) as NodeJS.ProcessEnv

async function step<T>(what: string, action: () => Promise<T> | T): Promise<T> {
  const started = performance.now()
  const result = await action()
  console.log(`✓ ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  return result
}

async function pack(pkg: PublicPackage): Promise<string> {
  const before = new Set(readdirSync(tarballs))
  await runCommand('pnpm', ['pack', '--pack-destination', tarballs], { cwd: pkg.dir, timeoutMs: 60_000 })
  const created = readdirSync(tarballs).filter((file) => !before.has(file) && file.endsWith('.tgz'))
  if (created.length !== 1) throw new Error(`pnpm pack of ${pkg.name} produced ${created.length} tarballs`)
  return join(tarballs, created[0]!)
}

/** The scratch project: our tarballs, the peers they need, and vitest for `@cacheplane/core/testing`. */
function writeScratchProject(packed: ReadonlyMap<PublicPackage, string>): void {
  mkdirSync(app)
  const dependencies: Record<string, string> = {}
  const overrides: Record<string, string> = {}
  for (const [pkg, tarball] of packed) {
    dependencies[pkg.name] = `file:${tarball}`
    // Every dependent (the CLI, the adapters' peers) must get the tarball, never a registry copy.
    overrides[pkg.name] = `$${pkg.name}`
    for (const [peer, range] of Object.entries(pkg.peers)) dependencies[peer] ??= range
  }
  // core/testing imports vitest (an optional peer); the consumer type check needs TypeScript
  // and Node's types. Each is pinned to the version the workspace uses.
  for (const tool of ['vitest', 'typescript', '@types/node']) {
    dependencies[tool] = `^${(require(`${tool}/package.json`) as { version: string }).version}`
  }
  const manifest = {
    name: 'cacheplane-pack-check-app',
    private: true,
    type: 'module',
    dependencies,
    overrides,
  }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  copyFileSync(fileURLToPath(new URL('./smoke.js', import.meta.url)), join(app, 'smoke.mjs'))
  copyFileSync(fileURLToPath(new URL('../fixtures/consumer.ts', import.meta.url)), join(app, 'consumer.ts'))
  writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify(CONSUMER_TSCONFIG, null, 2)}\n`)
}

function checkInstalledFromTarballs(packages: readonly PublicPackage[]): void {
  for (const pkg of packages) {
    const installed = realpathSync(join(app, 'node_modules', ...pkg.name.split('/')))
    if (!installed.startsWith(app + sep)) {
      throw new Error(`${pkg.name} resolves to ${installed}, outside the scratch project`)
    }
  }
  // A nested copy (say, the CLI's own @cacheplane/core) fetched from the registry would test
  // someone else's artifact: every installed @cacheplane package must come from a tarball.
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string }>
  }
  const foreign = Object.entries(lock.packages).filter(
    ([path, entry]) =>
      /(^|\/)node_modules\/@cacheplane\/[^/]+$/.test(path) && !entry.resolved?.startsWith('file:'),
  )
  if (foreign.length > 0) {
    const list = foreign.map(([path, entry]) => `${path} from ${entry.resolved ?? '?'}`).join(', ')
    throw new Error(`not installed from our tarballs: ${list}`)
  }
}

async function checkCli(): Promise<void> {
  const bin = join(app, 'node_modules', '.bin', 'cacheplane')
  const help = await runCommand(bin, ['--help'], { cwd: app, timeoutMs: 30_000, env: cleanEnv })
  if (!help.stdout.includes('Usage: cacheplane'))
    throw new Error(`cacheplane --help printed:\n${help.stdout}`)
  const demo = await runCommand(bin, ['demo'], { cwd: app, timeoutMs: 30_000, env: cleanEnv })
  if (!demo.stdout.includes('every read saw the latest value')) {
    throw new Error(`cacheplane demo printed:\n${demo.stdout}`)
  }
}

async function main(): Promise<void> {
  mkdirSync(tarballs)
  console.log(`pack-check in ${work}`)
  const packages = await step('found the public packages', () => publicPackages(root))
  const packed = await step(`packed ${packages.map((pkg) => pkg.name).join(', ')}`, async () => {
    const result = new Map<PublicPackage, string>()
    for (const pkg of packages) result.set(pkg, await pack(pkg))
    return result
  })
  await step('wrote the scratch project', () => writeScratchProject(packed))
  await step('npm install of the tarballs and their peers', () =>
    runCommand('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      timeoutMs: 120_000,
      env: cleanEnv,
    }),
  )
  await step('every package is installed from its tarball', () => checkInstalledFromTarballs(packages))
  const smoke = await step('imported every entry point; get/set round trip with a backplane', () =>
    runCommand(process.execPath, ['smoke.mjs'], { cwd: app, timeoutMs: 30_000, env: cleanEnv }),
  )
  process.stdout.write(smoke.stdout)
  await step('cacheplane --help and cacheplane demo from the installed bin', checkCli)
  await step('a TypeScript consumer compiles against every entry point', () =>
    runCommand(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
      cwd: app,
      timeoutMs: 60_000,
      env: cleanEnv,
    }),
  )
}

try {
  await main()
  if (!keep) rmSync(work, { recursive: true, force: true })
  console.log('pack-check: OK')
} catch (error) {
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`)
  if (error instanceof CommandFailedError) {
    const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n')
    if (error.output.stdout.trim() !== '') console.error(`--- stdout ---\n${tail(error.output.stdout)}`)
    if (error.output.stderr.trim() !== '') console.error(`--- stderr ---\n${tail(error.output.stderr)}`)
  }
  console.error(`pack-check: FAILED (scratch project kept in ${work})`)
  process.exitCode = 1
}
