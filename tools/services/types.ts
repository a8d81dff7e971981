/** What ensurePostgres/ensureRedis hand back: where the server is and how to undo having started it. */
export interface ServiceHandle {
  url: string;
  /** false when an existing server answered and was used as is. */
  started: boolean;
  /** Stops what the call started; a no-op for a server that was already there. */
  stop(): Promise<void>;
}
