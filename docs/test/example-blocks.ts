/**
 * Finds the code samples of a Markdown guide. A sample is written as
 *
 *   <!-- example: examples/getting-started/memory.ts -->
 *   ```ts
 *   ...the file's exact content...
 *   ```
 *   <!-- /example -->
 *
 * with the path relative to the Markdown file. The file is what tsc compiles (and, for
 * samples that need no server, what the tests run); the block must equal it byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/** One marked sample in a guide. */
export interface ExampleBlock {
  /** The guide, absolute path. */
  readonly guide: string
  /** 1-based line of the opening marker. */
  readonly line: number
  /** The example file, absolute path. */
  readonly file: string
  /** The fenced block's body; undefined when the marker is not followed by a fenced block. */
  readonly body: string | undefined
  /** Character offsets of the whole marked region (markers included) in the guide. */
  readonly start: number
  readonly end: number
}

/** A fenced code block of a guide, whether or not it is marked. */
export interface FencedBlock {
  readonly line: number
  readonly lang: string
  readonly marked: boolean
}

const OPEN = /<!-- example: (\S+) -->\n/g
const BLOCK = /^```(\w+)\n([\s\S]*?)^```\n<!-- \/example -->/m

/** The marked samples of one guide, in order. */
export function exampleBlocks(guide: string, text = readFileSync(guide, 'utf8')): ExampleBlock[] {
  const blocks: ExampleBlock[] = []
  for (const match of text.matchAll(OPEN)) {
    const start = match.index
    const afterMarker = start + match[0].length
    const rest = text.slice(afterMarker)
    const block = BLOCK.exec(rest)
    const adjacent = block !== null && block.index === 0
    const file = resolve(dirname(guide), match[1] as string)
    const line = text.slice(0, start).split('\n').length
    blocks.push({
      guide,
      line,
      file,
      body: adjacent ? block[2] : undefined,
      start,
      end: adjacent ? afterMarker + block[0].length : afterMarker,
    })
  }
  return blocks
}

/** Every fenced block of a guide, with whether an example marker wraps it. */
export function fencedBlocks(text: string): FencedBlock[] {
  const lines = text.split('\n')
  const fences: FencedBlock[] = []
  let open = false
  for (const [i, current] of lines.entries()) {
    if (!current.startsWith('```')) continue
    if (open) {
      open = false
      continue
    }
    open = true
    const previous = lines[i - 1] ?? ''
    fences.push({ line: i + 1, lang: current.slice(3).trim(), marked: previous.startsWith('<!-- example: ') })
  }
  return fences
}

/** The guide text with every marked block replaced by its file's current content. */
export function withExamplesSynced(guide: string, text = readFileSync(guide, 'utf8')): string {
  let out = ''
  let at = 0
  for (const block of exampleBlocks(guide, text)) {
    const marker = text.slice(block.start, text.indexOf('\n', block.start) + 1)
    out += text.slice(at, block.start)
    out += `${marker}\`\`\`ts\n${readFileSync(block.file, 'utf8')}\`\`\`\n<!-- /example -->`
    at = block.end
  }
  return out + text.slice(at)
}

/** Files under `dir` whose name ends with `suffix`, recursively (node_modules excluded), sorted. */
export function filesUnder(dir: string, suffix: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...filesUnder(path, suffix))
    else if (entry.name.endsWith(suffix)) found.push(path)
  }
  return found.sort()
}

/** A path for messages, relative to the repository root. */
export function shown(path: string, root: string): string {
  return relative(root, path)
}
