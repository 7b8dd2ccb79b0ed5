/**
 * Relative links in the guides (and packages/core/README.md) point at files that exist,
 * and `#anchors` at headings that exist (GitHub's slugs), so a renamed source file or
 * heading fails the docs tests instead of leaving a dead link.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { filesUnder, shown } from './example-blocks.js'

const docs = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const root = resolve(docs, '..')
const guides = [...filesUnder(docs, '.md'), join(root, 'packages/core/README.md')]

/** GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] as string)))
}

function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

test.each(guides.map((guide) => [shown(guide, root), guide]))('%s: relative links resolve', (_, guide) => {
  const text = readFileSync(guide, 'utf8')
  const broken: string[] = []
  for (const link of links(text)) {
    if (/^[a-z]+:/i.test(link)) continue // http(s), mailto
    const [path = '', anchor] = link.split('#')
    const target = path === '' ? guide : resolve(dirname(guide), path)
    if (!existsSync(target)) {
      broken.push(`${link} (no such file)`)
      continue
    }
    if (anchor !== undefined && target.endsWith('.md') && statSync(target).isFile()) {
      if (!anchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${link} (no such heading)`)
    }
  }
  expect(broken).toEqual([])
})
