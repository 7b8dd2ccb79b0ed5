/**
 * Options, handlers and counters of the `BackplaneBus`, and the validation of
 * its options (the CacheManager hands them through from its own options).
 */
import type { Backplane, BackplaneGap, BackplaneState } from '../contracts/backplane.js'
import { type CacheplaneError, InvalidOptionsError } from '../errors.js'
import type { BackplaneMessage } from './messages.js'

const SENDER_ID_PATTERN = /^[0-9a-f]{32}$/

/** What the bus reports to its owner (the CacheManager). */
export interface BackplaneBusHandlers {
  /** Messages of one remote frame, decoded and verified; never our own. `sentAt`: the frame's send time, if it carries one. */
  onMessages(messages: readonly BackplaneMessage[], senderId: string, sentAt: number | undefined): void
  /** The transport reported that frames may have been missed. */
  onGap(gap: BackplaneGap): void
  /** The transport's connection state changed. */
  onState(state: BackplaneState): void
  /** Invalid frames (E_FRAME_INVALID / E_FRAME_SIGNATURE), failed publish attempts (E_BACKPLANE_FAILED). */
  onError(error: CacheplaneError): void
}

/** Options of the BackplaneBus. */
export interface BackplaneBusOptions {
  /** The transport. */
  backplane: Backplane
  /** Channel to connect to (one per cache name). */
  channel: string
  /** This instance's id (32 hex chars, see `newSenderId`); frames carrying it are skipped. */
  senderId: string
  /** Shared secret: outgoing frames are signed, incoming frames must be signed with it. */
  secret?: string | Uint8Array | undefined
  /** Distinct pending messages; on overflow the queue collapses into one `cleared`. */
  maxQueue: number
  /** Largest frame sent or accepted, bytes (sending also respects the transport's limit). */
  maxFrameBytes: number
  /** Publish retries: exponential backoff from `baseDelayMs` up to `maxDelayMs`, with jitter, until close. */
  retry: { baseDelayMs: number; maxDelayMs: number }
  /** How long `close()` keeps trying to publish what is queued, ms. */
  closeTimeoutMs: number
  /** Where messages, gaps, state changes and errors go. */
  handlers: BackplaneBusHandlers
}

/** Counters of one bus. */
export interface BackplaneBusStats {
  /** Frames published successfully. */
  framesSent: number
  /** Messages in frames published successfully. */
  messagesSent: number
  /** Frames the transport delivered (own and invalid ones included). */
  framesReceived: number
  /** Messages delivered to `onMessages`. */
  messagesReceived: number
  /** Our own frames, skipped. */
  ownFramesSkipped: number
  /** Queued messages merged into a later one (same key, or superseded by a clear). */
  deduplicated: number
  /** Publish attempts that retried an earlier failure. */
  retried: number
  /** Publish attempts that failed. */
  publishFailures: number
  /** Incoming frames rejected as malformed, foreign or badly signed. */
  droppedInvalid: number
  /** Times the outbound queue overflowed and collapsed into one `cleared`. */
  overflows: number
  /** Gaps reported by the transport. */
  gaps: number
  /** Messages waiting to be published now: queued, or in a batch whose publish has not finished. */
  queued: number
  /** Whether the transport is connected, as last reported. */
  connected: boolean
  /** The transport's state, as last reported (`suspect`: silent past its `maxSilenceMs`). */
  state: BackplaneState
  /** Times the transport reported `suspect` (a silent connection). */
  suspects: number
}

/** The secret as key bytes (strings are UTF-8). */
export function toSecretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
}

/** Throws `InvalidOptionsError` for options the bus cannot work with. */
export function validateBusOptions(options: BackplaneBusOptions): void {
  const fail = (message: string): never => {
    throw new InvalidOptionsError(`backplane bus: ${message}`)
  }
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  const { backplane, channel, senderId, secret, maxQueue, maxFrameBytes, retry, closeTimeoutMs, handlers } =
    options
  if (typeof backplane !== 'object' || backplane === null || typeof backplane.connect !== 'function') {
    fail('backplane must implement the Backplane contract')
  }
  if (typeof backplane.capabilities?.maxFrameBytes !== 'number') {
    fail('backplane.capabilities.maxFrameBytes must be a number')
  }
  if (typeof channel !== 'string' || channel.length === 0) fail('channel must be a non-empty string')
  if (typeof senderId !== 'string' || !SENDER_ID_PATTERN.test(senderId)) {
    fail('senderId must be 32 lowercase hex characters')
  }
  if (secret !== undefined) {
    const valid = typeof secret === 'string' || secret instanceof Uint8Array
    if (!valid || secret.length === 0) fail('secret must be a non-empty string or Uint8Array')
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) fail('maxQueue must be a positive integer')
  if (typeof maxFrameBytes !== 'number' || !(maxFrameBytes >= 1)) {
    fail('maxFrameBytes must be a positive number of bytes (Infinity for no limit)')
  }
  const { baseDelayMs, maxDelayMs } = retry ?? {}
  if (typeof baseDelayMs !== 'number' || !(baseDelayMs > 0) || !Number.isFinite(baseDelayMs)) {
    fail('retry.baseDelayMs must be a positive number of ms')
  }
  if (
    typeof maxDelayMs !== 'number' ||
    !Number.isFinite(maxDelayMs) ||
    maxDelayMs < (baseDelayMs as number)
  ) {
    fail('retry.maxDelayMs must be a number of ms >= retry.baseDelayMs')
  }
  if (typeof closeTimeoutMs !== 'number' || !Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) {
    fail('closeTimeoutMs must be a non-negative number of ms')
  }
  if (typeof handlers !== 'object' || handlers === null) fail('handlers are required')
}
