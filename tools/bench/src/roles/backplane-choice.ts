import type { Backplane } from '@cacheplane/core'
import { natsBackplane } from '@cacheplane/nats'
import { redisBackplane } from '@cacheplane/redis'

/** Which pub/sub server carries invalidations. Serializable: it is sent to workers. */
export interface BackplaneChoice {
  readonly kind: 'redis' | 'nats'
  readonly url: string
}

/** The cacheplane backplane for a choice. */
export function createBackplane(choice: BackplaneChoice): Backplane {
  return choice.kind === 'redis'
    ? redisBackplane({ url: choice.url })
    : natsBackplane({ servers: choice.url })
}
