/**
 * `pnpm api:check` and `pnpm api:update`: an API Extractor report per published entry
 * point (`packages/<name>/etc/<name>.api.md`, `core-testing.api.md` for a subpath), made
 * from the built declaration files, so a change to a public surface shows in review.
 *
 * Check mode fails when a report differs from the code (the new one is left in the temp
 * folder named in the message); update mode rewrites the reports. No per-package
 * configuration: the settings below are the same for every package, and the reports are
 * byte-for-byte the same for the same declarations (sorted, LF line endings).
 */
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CompilerState,
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  ExtractorMessageCategory,
  type IConfigFile,
} from '@microsoft/api-extractor'
import { type EntryPoint, entryPoints } from './entry-points.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const update = process.argv.includes('--update')
const tempFolder = join(tmpdir(), 'cacheplane-api-report')

function configOf(entry: EntryPoint, every: readonly EntryPoint[]): IConfigFile {
  return {
    projectFolder: entry.dir,
    mainEntryPointFilePath: entry.types,
    compiler: {
      // Only the declaration files are read; the packages' own tsconfig (source, tests) is not needed.
      overrideTsconfig: {
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: true,
          types: ['node'],
        },
        // Every entry point, in every config: one program serves them all (see main).
        files: every.map((e) => e.types),
      },
    },
    apiReport: {
      enabled: true,
      reportFileName: entry.reportName,
      reportFolder: join(entry.dir, 'etc'),
      reportTempFolder: tempFolder,
      includeForgottenExports: false,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    newlineKind: 'lf',
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      extractorMessageReporting: {
        // Written into the report, so a type used by the API but not exported shows in review.
        default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true },
        // We publish no release stages (@beta, @alpha): every export is public.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        // {@link} targets in doc comments (members, other packages' names): prose, not API.
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.None },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
    },
  }
}

function prepare(entry: EntryPoint, every: readonly EntryPoint[]): ExtractorConfig {
  return ExtractorConfig.prepare({
    configObject: configOf(entry, every),
    configObjectFullPath: undefined,
    packageJsonFullPath: join(entry.dir, 'package.json'),
  })
}

/** Runs API Extractor on one entry point; true when its report matches (or was rewritten). */
function report(entry: EntryPoint, config: ExtractorConfig, compilerState: CompilerState): boolean {
  mkdirSync(join(entry.dir, 'etc'), { recursive: true })
  const problems: string[] = []
  const result = Extractor.invoke(config, {
    localBuild: update,
    compilerState,
    messageCallback: (message: ExtractorMessage) => {
      message.handled = true
      // Console messages narrate what the lines printed below say already.
      if (message.category === ExtractorMessageCategory.Console) return
      if (message.logLevel === ExtractorLogLevel.Error || message.logLevel === ExtractorLogLevel.Warning)
        problems.push(message.formatMessageWithLocation(root))
    },
  })
  const file = relative(root, join(entry.dir, 'etc', `${entry.reportName}.api.md`))
  for (const problem of problems) console.error(`  ${problem}`)
  if (result.errorCount !== 0) {
    console.error(`failed     ${file}: ${result.errorCount} error(s)`)
    return false
  }
  if (update) {
    console.log(`${result.apiReportChanged ? 'updated' : 'unchanged'}  ${file}`)
    return true
  }
  if (result.apiReportChanged) {
    const fresh = join(tempFolder, `${entry.reportName}.api.md`)
    console.error(`differs    ${file}: the public API of ${entry.specifier} changed (new report: ${fresh})`)
    return false
  }
  console.log(`ok         ${file}`)
  return true
}

function main(): void {
  const every = entryPoints(root)
  const configs = every.map((entry) => prepare(entry, every))
  // Building the TypeScript program is most of the cost: once for all entry points.
  const first = configs[0]
  if (first === undefined) throw new Error('no published package found under packages/')
  const compilerState = CompilerState.create(first, { additionalEntryPoints: every.map((e) => e.types) })
  const failed = every.filter((entry, i) => !report(entry, configs[i] as ExtractorConfig, compilerState))
  if (failed.length === 0) return
  if (!update) console.error("\nRun 'pnpm api:update' and commit the reports if the change is intended.")
  process.exitCode = 1
}

main()
