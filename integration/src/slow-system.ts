/**
 * `waitFor` options for integration tests: child processes and real servers on a loaded
 * machine answer slowly, so deadlines are longer and polls (each an RPC) sparser than the
 * defaults. Spread it first and override what a wait needs: `{ ...slowSystem, message }`.
 */
export const slowSystem = { timeoutMs: 15_000, intervalMs: 25 } as const
