// Public API of @cacheplane/memcached.

export { maxRelativeSeconds, memcachedExptime } from './expiration-time.js'
export { type MemcachedHandle, memcachedCapabilities, memcachedHandle } from './memcached-handle.js'
export { defaultMaxValueBytes, type MemcachedHandleOptions } from './memcached-options.js'
