import { provideServers } from '@cacheplane/test-servers'
import type { TestProject } from 'vitest/node'

export default (project: TestProject) => provideServers(project, ['postgres', 'redis'])
