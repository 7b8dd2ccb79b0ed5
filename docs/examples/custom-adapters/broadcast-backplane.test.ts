import { describeBackplane } from '@cacheplane/core/testing'
import { broadcastBackplane } from './broadcast-backplane.js'

// Each factory call plays one application instance; all of them share the process.
describeBackplane('broadcastBackplane', () => broadcastBackplane())
