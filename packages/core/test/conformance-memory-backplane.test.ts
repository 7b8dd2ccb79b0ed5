import { createBackplaneHub, memoryBackplane } from '../src/backplane/memory-backplane.js'
import { describeBackplane } from '../src/testing/index.js'

// Every backplane made by the factory must reach the others: they share one hub.
const hub = createBackplaneHub()
describeBackplane('memoryBackplane', () => memoryBackplane({ hub }))
