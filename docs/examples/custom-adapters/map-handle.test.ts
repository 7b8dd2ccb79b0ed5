import { describeCacheHandle } from '@cacheplane/core/testing'
import { mapHandle } from './map-handle.js'

// Every handle from the factory must share one store: the suite checks that two
// handles bound to one cache name see each other, and two cache names do not.
const store = new Map<string, Uint8Array>()
describeCacheHandle('mapHandle', () => mapHandle({ store }))
