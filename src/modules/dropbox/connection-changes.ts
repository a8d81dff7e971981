import { Injectable, Logger } from '@nestjs/common';

/** A producer's Dropbox connection changed state: connected or reconnected, expired, or disconnected. */
export interface ConnectionChange {
  /** The producer whose connection it is. */
  userId: string;
}

export type ConnectionChangeListener = (change: ConnectionChange) => Promise<void>;

/**
 * Tells the modules built on the connection (share pages say "downloads are paused" while it is expired) that its
 * state changed, without this module knowing them. Called after the change is stored; a listener's failure is
 * logged and never fails the change.
 */
@Injectable()
export class ConnectionChanges {
  private readonly logger = new Logger(ConnectionChanges.name);
  private readonly listeners: ConnectionChangeListener[] = [];

  subscribe(listener: ConnectionChangeListener): void {
    this.listeners.push(listener);
  }

  async changed(change: ConnectionChange): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(change);
      } catch (err) {
        this.logger.warn({ error: (err as Error).message }, 'a Dropbox connection change listener failed');
      }
    }
  }
}
