/**
 * Typed errors. Core owns the error policy: adapters throw raw errors and core wraps
 * them here, keeping the original as `cause` and never blanking a stack. Every error
 * has a stable `code`; `errors` maps codes to classes for `instanceof` checks.
 */

/** Base class of every error cacheplane throws. */
export class CacheplaneError extends Error {
  /** Stable machine-readable code (`E_...`). */
  readonly code: string
  /** Name of the handle or backplane involved, when there is one. */
  readonly source: string | undefined

  constructor(code: string, message: string, options?: { cause?: unknown; source?: string | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.source = options?.source
    this.name = new.target.name
  }
}

function define<C extends string>(code: C, name: string) {
  const cls = class extends CacheplaneError {
    static readonly code: C = code
    override readonly code: C = code
    constructor(message: string, options?: { cause?: unknown; source?: string | undefined }) {
      super(code, message, options)
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

/** Options given to a constructor or factory are invalid. */
export const InvalidOptionsError = define('E_INVALID_OPTIONS', 'InvalidOptionsError')
/** A key or region is empty, not a string, or too long. */
export const InvalidKeyError = define('E_INVALID_KEY', 'InvalidKeyError')
/** A value cannot be cached (`undefined`). */
export const InvalidValueError = define('E_INVALID_VALUE', 'InvalidValueError')
/** An expiration is malformed: unknown mode, non-positive or absurd TTL. */
export const InvalidExpirationError = define('E_INVALID_EXPIRATION', 'InvalidExpirationError')
/** The manager was closed; no further calls are accepted. */
export const ClosedError = define('E_CLOSED', 'ClosedError')
/** A handle operation failed (the handle's raw error is the `cause`). */
export const HandleFailedError = define('E_HANDLE_FAILED', 'HandleFailedError')
/** A handle's circuit breaker is open: the call failed fast without reaching the store. */
export const CircuitOpenError = define('E_CIRCUIT_OPEN', 'CircuitOpenError')
/** The operation is not supported by the handle (for example `update` without CAS). */
export const NotSupportedError = define('E_NOT_SUPPORTED', 'NotSupportedError')
/** `update` ran out of retries: other writers kept changing the item. */
export const UpdateConflictError = define('E_UPDATE_CONFLICT', 'UpdateConflictError')
/** A compare-and-set loop inside a handle (expire, add) lost every round to other writers. */
export const ConflictError = define('E_CONFLICT', 'ConflictError')
/** `update` found no item to update. */
export const UpdateMissingError = define('E_UPDATE_MISSING', 'UpdateMissingError')
/** A factory or update function returned `undefined`. */
export const FactoryUndefinedError = define('E_FACTORY_UNDEFINED', 'FactoryUndefinedError')
/** A getOrAdd factory threw (or called `ctx.fail`) and no graced value was there to fall back to; the factory's error is the `cause`. */
export const FactoryError = define('E_FACTORY_FAILED', 'FactoryError')
/** A getOrAdd factory ran past `hardTimeoutMs` and no graced value was there to fall back to. */
export const FactoryTimeoutError = define('E_FACTORY_TIMEOUT', 'FactoryTimeoutError')
/** A value could not be serialized; nothing was written. */
export const SerializeError = define('E_SERIALIZE', 'SerializeError')
/** Bytes in a store could not be decoded; the read is treated as a miss. */
export const ItemCorruptError = define('E_ITEM_CORRUPT', 'ItemCorruptError')
/** A value is larger than the store accepts. */
export const ValueTooLargeError = define('E_VALUE_TOO_LARGE', 'ValueTooLargeError')
/** A backplane frame is malformed, foreign, too large or of an unknown version/type. */
export const FrameInvalidError = define('E_FRAME_INVALID', 'FrameInvalidError')
/** A backplane frame's signature is missing or wrong. */
export const FrameSignatureError = define('E_FRAME_SIGNATURE', 'FrameSignatureError')
/** The backplane failed (connect, publish after all retries). */
export const BackplaneFailedError = define('E_BACKPLANE_FAILED', 'BackplaneFailedError')

/** Every error class by code, for `instanceof` checks: `err instanceof errors.E_UPDATE_CONFLICT`. */
export const errors = {
  E_INVALID_OPTIONS: InvalidOptionsError,
  E_INVALID_KEY: InvalidKeyError,
  E_INVALID_VALUE: InvalidValueError,
  E_INVALID_EXPIRATION: InvalidExpirationError,
  E_CLOSED: ClosedError,
  E_HANDLE_FAILED: HandleFailedError,
  E_CIRCUIT_OPEN: CircuitOpenError,
  E_NOT_SUPPORTED: NotSupportedError,
  E_UPDATE_CONFLICT: UpdateConflictError,
  E_CONFLICT: ConflictError,
  E_UPDATE_MISSING: UpdateMissingError,
  E_FACTORY_UNDEFINED: FactoryUndefinedError,
  E_FACTORY_FAILED: FactoryError,
  E_FACTORY_TIMEOUT: FactoryTimeoutError,
  E_SERIALIZE: SerializeError,
  E_ITEM_CORRUPT: ItemCorruptError,
  E_VALUE_TOO_LARGE: ValueTooLargeError,
  E_FRAME_INVALID: FrameInvalidError,
  E_FRAME_SIGNATURE: FrameSignatureError,
  E_BACKPLANE_FAILED: BackplaneFailedError,
} as const

/** Any stable error code. */
export type ErrorCode = keyof typeof errors
