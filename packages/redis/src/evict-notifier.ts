/**
 * The `evict` events of a Redis handle: keyspace notifications (`expired`, `evicted`, `del`)
 * turned into core's (key, region, reason), with this handle's own deletes and clears told
 * apart so that they are not reported as `external`. Nothing is watched unless the
 * application asked for `keyspaceNotifications`.
 */
import type { EvictListener, EvictReason } from '@cacheplane/core'
import type { KeyLayout } from './key-layout.js'
import { type KeyspaceWatcher, watchKeyspace } from './keyspace-events.js'
import { OwnDeletes } from './own-deletes.js'
import type { RedisClient } from './redis-connection.js'

/** Evict listeners of one handle, and the keyspace watcher that feeds them. */
export class EvictNotifier {
  readonly #layout: KeyLayout
  readonly #listeners = new Set<EvictListener>()
  readonly #ownDeletes = new OwnDeletes()
  #watcher: KeyspaceWatcher | undefined

  /** Keys are taken apart with the handle's `layout`. */
  constructor(layout: KeyLayout) {
    this.#layout = layout
  }

  /** Adds a listener; the result removes it. */
  onEvict(listener: EvictListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Subscribes to the notifications of the bound cache's keys on every master of `client`. */
  async watch(client: RedisClient, configureServer: boolean): Promise<void> {
    const prefix = this.#layout.cachePrefix
    if (prefix === undefined) return
    this.#watcher = await watchKeyspace({
      client,
      prefix,
      configureServer,
      listener: (fullKey, reason) => this.#notify(fullKey, reason),
    })
  }

  /** The own-delete tracker while notifications are watched (bulk removes register their keys in it), else undefined. */
  trackedDeletes(): OwnDeletes | undefined {
    return this.#watcher === undefined ? undefined : this.#ownDeletes
  }

  /** Runs the UNLINK of one key; its `del` notification is ours, not an external delete. */
  async removing(fullKey: string, unlink: () => Promise<number>): Promise<number> {
    if (this.#watcher !== undefined) this.#ownDeletes.expect(fullKey)
    const removed = await unlink()
    if (removed === 0) this.#ownDeletes.forget(fullKey)
    return removed
  }

  /** Runs a clear of every key under `keyPrefix`; the `del` notifications it causes are ours. */
  async clearing(keyPrefix: string, clear: () => Promise<void>): Promise<void> {
    // Own deletes are only tracked while notifications are watched (nothing prunes them otherwise).
    const done = this.#watcher === undefined ? undefined : this.#ownDeletes.startClear(keyPrefix)
    try {
      await clear()
    } finally {
      done?.()
    }
  }

  /** Drops every listener and closes the subscriber connections. */
  async close(): Promise<void> {
    this.#listeners.clear()
    await this.#watcher?.close()
    this.#watcher = undefined
  }

  #notify(fullKey: string, reason: EvictReason): void {
    if (this.#listeners.size === 0) return
    if (reason === 'external' && this.#ownDeletes.claim(fullKey)) return
    const parsed = this.#layout.parse(fullKey)
    if (parsed === undefined) return
    for (const listener of this.#listeners) listener(parsed.key, parsed.region, reason)
  }
}
