/** Which write produced a `changed` message. */
export type ChangeKind = 'add' | 'set' | 'update' | 'expire'

/**
 * A key-only invalidation message. Values never travel: a receiver evicts the key
 * from its local handles and the next read fetches the new value from below.
 */
export type BackplaneMessage =
  | {
      readonly type: 'changed'
      readonly change: ChangeKind
      readonly key: string
      readonly region: string | undefined
    }
  | { readonly type: 'removed'; readonly key: string; readonly region: string | undefined }
  | { readonly type: 'cleared' }
  | { readonly type: 'regionCleared'; readonly region: string }
  /**
   * `removeByTag`: the tag's new stamp (see `tag-stamps.ts`); receivers cache it (a shared
   * bottom: read it from the store). Negative when the invalidator's write of it failed and
   * may not have landed: receivers read the store's stamp and assume none.
   */
  | { readonly type: 'tagInvalidated'; readonly tag: string; readonly stamp: number }

/** A decoded frame: who sent it and the messages it carries, in order. */
export interface DecodedFrame {
  /** Random id of the sending `CacheManager` instance (16 bytes, hex). */
  readonly senderId: string
  /** The messages, in the order they were queued. */
  readonly messages: readonly BackplaneMessage[]
  /** When the sender encoded the frame, ms since the epoch (its wall clock); absent in older frames. */
  readonly sentAt?: number | undefined
}
