// Public API of @cacheplane/memory.

export { type MemoryCacheHandle, memoryHandle } from './memory-handle.js'
export type { MemoryHandleOptions } from './memory-options.js'
