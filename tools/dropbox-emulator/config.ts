/** Options of `startDropboxEmulator` (and of the CLI). */
export interface DropboxEmulatorOptions {
  /** 0 picks a free port. Default 0 in-process, 8787 for the CLI. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (use 0.0.0.0 in a container). */
  host?: string;
  /** Persist state (JSON metadata + blob files) here and reload it on start; a temp dir is used when absent. */
  dataDir?: string;
  /** Base URL put into temporary links, when clients reach the emulator under another name (Docker). */
  publicUrl?: string;
  /** The app key `/oauth2/*` accepts; any client_id is accepted when absent. */
  appKey?: string;
  /** The app secret `/oauth2/token` accepts instead of a PKCE verifier or with a refresh token. */
  appSecret?: string;
  strict?: boolean;
  tempLinkLifetimeMs?: number;
  accessTokenLifetimeMs?: number;
  asyncPolls?: number;
  asyncBatchThreshold?: number;
  latencyMs?: number;
  maxInviteesPerCall?: number;
  refuseNonBmpPaths?: boolean;
  shareFolderAsync?: boolean;
}

/** The behaviour switches that the control API may change while the emulator runs. */
export interface EmulatorSettings {
  /** Overlapping write calls of one account get 429 `too_many_write_operations` (Dropbox's namespace lock). */
  strict: boolean;
  /** Temporary links answer 410 Gone after this long. Dropbox: 4 h. */
  tempLinkLifetimeMs: number;
  /** Access tokens expire after this long. Dropbox: 4 h. */
  accessTokenLifetimeMs: number;
  /** How many times a check route answers `in_progress` before the job's result. */
  asyncPolls: number;
  /** copy_batch_v2 with more entries than this runs as an async job. */
  asyncBatchThreshold: number;
  /** Added to every API call. */
  latencyMs: number;
  /** add_folder_member with more members than this answers `too_many_invitees`; 0: no limit. */
  maxInviteesPerCall: number;
  /** Paths with characters outside the Basic Multilingual Plane (emoji) answer 400, as Dropbox's API did for years. */
  refuseNonBmpPaths: boolean;
  /** share_folder answers with an async job even without `force_async` (as Dropbox may for any folder). */
  shareFolderAsync: boolean;
}

const FOUR_HOURS_MS = 4 * 60 * 60 * 1000;

export function settingsFrom(options: DropboxEmulatorOptions): EmulatorSettings {
  return {
    strict: options.strict ?? false,
    tempLinkLifetimeMs: options.tempLinkLifetimeMs ?? FOUR_HOURS_MS,
    accessTokenLifetimeMs: options.accessTokenLifetimeMs ?? FOUR_HOURS_MS,
    asyncPolls: options.asyncPolls ?? 1,
    asyncBatchThreshold: options.asyncBatchThreshold ?? 1,
    latencyMs: options.latencyMs ?? 0,
    maxInviteesPerCall: options.maxInviteesPerCall ?? 0,
    refuseNonBmpPaths: options.refuseNonBmpPaths ?? false,
    shareFolderAsync: options.shareFolderAsync ?? false,
  };
}
