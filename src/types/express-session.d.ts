import 'express-session';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
    flash?: { kind: 'success' | 'error'; message: string };
    /** An OAuth attempt in flight: its state and PKCE verifier, until Dropbox sends the producer back. */
    dropboxAuthorization?: { state: string; codeVerifier: string; startedAt: number };
  }
}
