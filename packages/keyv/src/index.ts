// Public API of @cacheplane/keyv: any Keyv storage adapter as a cacheplane layer, and a
// cacheplane cache as a Keyv store (for cache-manager and NestJS).

export { type KeyvHandle, keyvHandle } from './keyv-handle.js'
export {
  type KeyvHandleOptions,
  type KeyvStorage,
  keyvCapabilities,
} from './keyv-handle-options.js'
export { KeyvCacheplaneStore, keyvStore } from './keyv-store.js'
