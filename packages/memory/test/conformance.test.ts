import { describeCacheHandle } from '@cacheplane/core/testing'
import { memoryHandle } from '../src/index.js'

// The exported CacheHandle contract, against both roles the memory handle plays.
describeCacheHandle('memoryHandle (local)', () => memoryHandle({ sweepIntervalMs: 0 }))
describeCacheHandle('memoryHandle (distributed)', () => memoryHandle({ distributed: true }), {
  // Each call makes a new in-process store, so sharing across handles is not exercised here.
  sharedStore: false,
})
