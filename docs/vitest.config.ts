import { defineConfig, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../vitest.shared.ts'

// The guides' examples that need no server run here; the custom-handle example brings
// its own conformance test under examples/.
export default mergeConfig(
  sharedConfig,
  defineConfig({ test: { include: ['test/**/*.test.ts', 'examples/**/*.test.ts'] } }),
)
