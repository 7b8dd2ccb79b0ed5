/**
 * Local copies of the generation tokens that scope item keys (see key-layout.ts): how a
 * Keyv store, which can neither scan by prefix nor increment atomically, clears a cache or
 * a region in one write.
 *
 * A clear writes a new random token; keys built with the old one are never read again (the
 * store's TTL, where it has one, removes them). A missing token is `0`, so a cache that was
 * never cleared needs no write. Without an atomic increment, two instances clearing at once
 * write two tokens and the last write wins: a clear therefore reads the token back after
 * writing it and keeps what the store holds, and every instance re-reads it when the
 * backplane announces a clear (`refresh`) or, without one, at most `refreshMs` after it
 * last read it.
 */
import { randomBytes } from 'node:crypto'
import { initialToken } from './key-layout.js'

/** How tokens are read and written in the store. */
export interface TokenStore {
  /** The token stored under `key`, or undefined. */
  read(key: string): Promise<string | undefined>
  /** Stores `token` under `key` without expiry. */
  write(key: string, token: string): Promise<void>
}

interface Entry {
  value: string
  readAt: number
  stale: boolean
  pending: Promise<string> | undefined
}

/** Most region tokens kept locally; the oldest read is dropped first. */
const maxRegionEntries = 10_000

/** A fresh token: 56 random bits as 11 base-36 characters (so never the initial `0`). */
export function newToken(): string {
  return (randomBytes(8).readBigUInt64BE(0) >> 8n).toString(36).padStart(11, '0')
}

/** True for a token this module writes (or the initial one): anything else in the store is corrupt. */
export function isToken(value: unknown): value is string {
  return typeof value === 'string' && (value === initialToken || /^[0-9a-z]{11}$/.test(value))
}

/** Generation tokens of one cache, cached locally. */
export class Generations {
  private cacheEntry: Entry | undefined
  private readonly regions = new Map<string, Entry>()

  constructor(
    private readonly store: TokenStore,
    private readonly cacheKey: string,
    private readonly regionKey: (region: string) => string,
    private readonly refreshMs: number,
  ) {}

  /** The cache token (read from the store when missing or due for a refresh). */
  cache(): Promise<string> | string {
    this.cacheEntry ??= emptyEntry()
    const entry = this.cacheEntry
    return this.fresh(entry) ? entry.value : this.read(entry, this.cacheKey)
  }

  /** A region's token (read from the store when missing or due for a refresh). */
  region(region: string): Promise<string> | string {
    const entry = this.regionEntry(region)
    return this.fresh(entry) ? entry.value : this.read(entry, this.regionKey(region))
  }

  /** Writes a new cache token (a clear), then keeps the one the store holds. */
  async bumpCache(): Promise<void> {
    this.cacheEntry ??= emptyEntry()
    await this.bump(this.cacheEntry, this.cacheKey)
  }

  /** Writes a new token for a region (a region clear), then keeps the one the store holds. */
  async bumpRegion(region: string): Promise<void> {
    await this.bump(this.regionEntry(region), this.regionKey(region))
  }

  /** Another instance cleared the cache (`region` undefined) or a region: re-read the token now. */
  async refresh(region: string | undefined): Promise<void> {
    const entry = region === undefined ? this.cacheEntry : this.regions.get(region)
    // Never read: the first use reads it anyway.
    if (entry === undefined) return
    entry.stale = true
    // A read already in flight may have been answered before the clear: wait it out, then read again.
    await entry.pending?.catch(() => undefined)
    if (entry.stale) await this.read(entry, region === undefined ? this.cacheKey : this.regionKey(region))
  }

  private async bump(entry: Entry, key: string): Promise<void> {
    await this.store.write(key, newToken())
    // Reads that started before the write could keep the old token: they must not win.
    entry.stale = true
    await entry.pending?.catch(() => undefined)
    await this.read(entry, key)
  }

  private regionEntry(region: string): Entry {
    let entry = this.regions.get(region)
    if (entry !== undefined) return entry
    if (this.regions.size >= maxRegionEntries) {
      // Forgetting a token only costs a re-read on the region's next use.
      const oldest = this.regions.keys().next()
      if (!oldest.done) this.regions.delete(oldest.value)
    }
    entry = emptyEntry()
    this.regions.set(region, entry)
    return entry
  }

  private fresh(entry: Entry): boolean {
    // A read in flight may be a refresh after a clear: callers join it rather than use the
    // value it is replacing (`read` clears `stale` as soon as it starts).
    return (
      !entry.stale &&
      entry.pending === undefined &&
      entry.readAt !== 0 &&
      Date.now() - entry.readAt < this.refreshMs
    )
  }

  private read(entry: Entry, key: string): Promise<string> {
    if (entry.pending !== undefined) return entry.pending
    // A refresh requested while this read is in flight must not be satisfied by it.
    entry.stale = false
    const pending = this.store.read(key).then(
      (token) => {
        entry.pending = undefined
        entry.value = token ?? initialToken
        entry.readAt = Date.now()
        return entry.value
      },
      (error: unknown) => {
        entry.pending = undefined
        entry.stale = true
        throw error
      },
    )
    entry.pending = pending
    return pending
  }
}

function emptyEntry(): Entry {
  return { value: initialToken, readAt: 0, stale: false, pending: undefined }
}
