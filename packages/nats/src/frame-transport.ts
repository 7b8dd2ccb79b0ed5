/** How frames travel once the backplane is connected: plain core NATS or a JetStream stream. */
export interface FrameTransport {
  /** Publishes one frame; resolves once the server accepted it. */
  publish(frame: Uint8Array): Promise<void>
  /** The client reconnected, or a silent connection answered again; work out what was missed and report the gap. */
  reconnected(reason: 'reconnect' | 'failover' | 'silence', detail: string): void
  /** Stops receiving frames. */
  stop(): Promise<void>
}
