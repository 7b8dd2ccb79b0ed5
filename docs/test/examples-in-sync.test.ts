/**
 * Every code sample in the guides (and in the root and core READMEs) is a file under
 * docs/examples that tsc compiles; this test fails when a sample in the Markdown differs
 * from its file, names a file that does not exist, or when a TypeScript block is not a
 * marked sample at all. `UPDATE_EXAMPLES=1 pnpm test` rewrites the blocks from the files.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { exampleBlocks, fencedBlocks, filesUnder, shown, withExamplesSynced } from './example-blocks.js'

const docs = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const root = resolve(docs, '..')
const guides = [...filesUnder(docs, '.md'), join(root, 'README.md'), join(root, 'packages/core/README.md')]
const update = process.env.UPDATE_EXAMPLES === '1'

describe.each(guides.map((guide) => [shown(guide, root), guide]))('%s', (_, guide) => {
  if (update) writeFileSync(guide, withExamplesSynced(guide))
  const text = readFileSync(guide, 'utf8')
  const blocks = exampleBlocks(guide, text)

  test('every marked sample names an existing file and equals it', () => {
    for (const block of blocks) {
      const where = `${shown(guide, root)}:${block.line}`
      expect(existsSync(block.file), `${where}: ${shown(block.file, root)} does not exist`).toBe(true)
      expect(
        block.body,
        `${where}: the marker must be followed by a fenced block and <!-- /example -->`,
      ).not.toBe(undefined)
      expect(
        block.body,
        `${where}: differs from ${shown(block.file, root)} (UPDATE_EXAMPLES=1 to resync)`,
      ).toBe(readFileSync(block.file, 'utf8'))
    }
  })

  test('every TypeScript or JavaScript block is a marked sample', () => {
    const loose = fencedBlocks(text).filter((fence) => /^(ts|js|typescript|javascript)$/.test(fence.lang))
    const unmarked = loose.filter((fence) => !fence.marked).map((fence) => fence.line)
    expect(unmarked, `${shown(guide, root)}: code blocks at these lines are not marked samples`).toEqual([])
  })
})

test('every example file is shown in some guide', () => {
  const shownFiles = new Set(guides.flatMap((guide) => exampleBlocks(guide).map((block) => block.file)))
  const orphans = filesUnder(join(docs, 'examples'), '.ts').filter((file) => !shownFiles.has(file))
  expect(orphans.map((file) => shown(file, root))).toEqual([])
})
