/**
 * What entries written alike share: an application writes most items of a region with
 * the same expiration, so mode, TTL, grace and the table the entry lives in are kept
 * once per combination and each entry holds one pointer to them (8 bytes instead of 32).
 */
import type { ExpirationMode } from '@cacheplane/core'
import type { MemoryEntry } from './memory-entry.js'

/**
 * Distinct shapes remembered per table. TTLs computed per item would otherwise grow the
 * table without bound; past this many, a write gets shapes of its own (three, one per
 * eviction mark: 240 bytes). Absolute items rarely get there: see {@link DERIVED_TTL}.
 */
const MAX_SHAPES_PER_TABLE = 64

/**
 * The `ttl` of a shape shared by absolute items whose TTL is their expiry minus their
 * creation time, as an item written now with a TTL has: the entry's own times give it. So
 * TTLs computed per item (a token's remaining life, "until midnight") share one shape.
 */
export const DERIVED_TTL = -1

/**
 * The expiration of a group of entries, the table holding them, where their times count from,
 * and how recently those entries were used. Each expiration comes as three shapes alike but
 * for that mark (see {@link markedShapes}): an entry changes its mark by pointing to another
 * of the three, so the mark costs the entry no field. Immutable but for the links to the other
 * two, set once when the three are made.
 */
export class EntryShape<V> {
  /** The same expiration marked as read since the eviction hand last passed: the top mark (itself there). */
  hot: EntryShape<V> = this
  /** The same expiration one mark lower: what the hand leaves when it passes; itself at the lowest, which it evicts. */
  cooler: EntryShape<V> = this

  constructor(
    readonly mode: ExpirationMode,
    /** TTL in ms; 0 for 'none'; {@link DERIVED_TTL} when each entry's times give it. */
    readonly ttl: number,
    /** Grace, ms; 0 = none. */
    readonly grace: number,
    readonly table: KeyTable<V>,
    /** Epoch ms the entries' `expiry` and `born` are offsets from (see `MemoryEntry`). */
    readonly base: number,
  ) {}

  /** `written`'s expiration (a mark-1 shape) with this shape's mark. */
  markOn(written: EntryShape<V>): EntryShape<V> {
    if (this.hot === this) return written.hot
    return this.cooler === this ? written.cooler : written
  }
}

/**
 * The items of the cache itself (`region` undefined) or of one region, and the shapes
 * their entries share. Regions being tables of their own, no call builds a composite key
 * string, and `clearRegion` drops one table.
 */
export class KeyTable<V> {
  readonly items = new Map<string, MemoryEntry<V>>()
  private readonly shapes = new Map<string, EntryShape<V>>()
  // Writes in a row usually share their expiration: one comparison instead of a lookup.
  private last: EntryShape<V>

  constructor(
    readonly region: string | undefined,
    /** Epoch ms the times of entries written now are counted from: the handle's time base. */
    private base: number,
  ) {
    this.last = markedShapes<V>('none', 0, 0, this, base)
  }

  /** Counts the times of entries written from now on from `base`: shapes are made anew. */
  rebase(base: number): void {
    this.base = base
    this.shapes.clear()
    this.last = markedShapes<V>('none', 0, 0, this, base)
  }

  /** The shared shape of a fresh write with this expiration (created on first use). */
  shape(mode: ExpirationMode, ttl: number, grace: number): EntryShape<V> {
    const last = this.last
    if (last.mode === mode && last.ttl === ttl && last.grace === grace) return last
    const id = `${mode}:${ttl}:${grace}`
    let shape = this.shapes.get(id)
    if (shape === undefined) {
      shape = markedShapes<V>(mode, ttl, grace, this, this.base)
      if (this.shapes.size < MAX_SHAPES_PER_TABLE) this.shapes.set(id, shape)
    }
    this.last = shape
    return shape
  }
}

/**
 * The three marks of one expiration, as the handle's CLOCK eviction counts them: 0, which the
 * hand evicts; 1, a fresh write's; 2, read since the hand last passed. Returns mark 1.
 */
function markedShapes<V>(
  mode: ExpirationMode,
  ttl: number,
  grace: number,
  table: KeyTable<V>,
  base: number,
): EntryShape<V> {
  const unmarked = new EntryShape<V>(mode, ttl, grace, table, base)
  const written = new EntryShape<V>(mode, ttl, grace, table, base)
  const read = new EntryShape<V>(mode, ttl, grace, table, base)
  unmarked.hot = read
  written.hot = read
  written.cooler = unmarked
  read.cooler = written
  return written
}
