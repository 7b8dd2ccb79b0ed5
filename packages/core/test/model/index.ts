// The model-based testing harness (issue 18), for the memory-store tests here and the
// real-store tests in integration/.
export { type OpenStore, type StoreSetup, memoryStore } from './cluster.js'
export { type ModelEnv, modelEnv } from './env.js'
export type { GenerateOptions, History } from './history.js'
export { checkModel, type ModelOptions } from './property.js'
export { modelProperty, type PropertySpec } from './register.js'
export { runHistory } from './runner.js'
export { formatTimeline, formatViolations } from './timeline.js'
