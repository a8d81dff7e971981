/** What the server injects: the parsed configuration (built by loadConfig in load-config.ts) and its token. */

export interface RedisConfig {
  /** The one Redis server, unless {@link sentinel} is set. */
  url: string;
  prefix: string;
  /** Redis Sentinel: the sentinels name the current primary, and a failover moves every connection to the new one. */
  sentinel?: {
    sentinels: Array<{ host: string; port: number }>;
    name: string;
    password?: string;
    sentinelPassword?: string;
    tls: boolean;
    sentinelTls: boolean;
  };
}

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  /** `trustProxy`: Express's trust-proxy list (addresses, CIDR networks, loopback/linklocal/uniquelocal), or none. */
  http: { port: number; host: string; publicUrl: string; trustProxy: string[] | false; secureCookies: boolean };
  database: { url: string; /** Most connections one process opens (DATABASE_POOL_MAX). */ poolMax: number };
  redis: RedisConfig;
  session: { secret: string };
  encryption: { key: Buffer; previousKey?: Buffer };
  workers: { enabled: boolean; concurrency: number; lockMs: number };
  /** How long SIGTERM/SIGINT waits for running jobs and requests before the process exits anyway. */
  shutdown: { graceMs: number };
  /** Share with collaborators: when a running pipeline counts as stuck; how often member states are refreshed. */
  collaboration: { stuckMs: number; refreshMs: number };
  /**
   * `/metrics`: bearer token required when set. `port`: also served, without a token, on 127.0.0.1:<port> only.
   * Otherwise, outside production, only loopback callers of the main port are answered; in production, nobody.
   */
  metrics: { token?: string; port?: number };
  /**
   * `maxUploadBytes` per file, `maxRequestBytes` per upload request, `spoolQuotaBytes` per producer (their uploads
   * not yet in Dropbox), `minFreeBytes`: uploads stop (507) before the spool's disk has less free.
   */
  files: {
    dropboxRoot: string;
    spoolDir: string;
    /**
     * `true`: every web and worker process sees one `SPOOL_DIR`, and any worker moves an upload into Dropbox.
     * `false`: the spool is this host's own; its uploads go into Dropbox from a process of `spoolHost` (see README).
     */
    spoolShared: boolean;
    /** The name of this spool's disk: processes with the same name must see the same `SPOOL_DIR`. */
    spoolHost: string;
    /** A spool host whose heartbeat is this old is gone: its pending uploads fail with a message to upload again. */
    spoolHostTimeoutMs: number;
    maxUploadBytes: number;
    maxRequestBytes: number;
    spoolQuotaBytes: number;
    minFreeBytes: number;
  };
  /** Producer notifications: email through SMTP (off without SMTP_URL); webhooks to private addresses only when allowed. */
  notifications: { smtpUrl?: string; mailFrom: string; webhooksAllowPrivate: boolean };
  /** Previews of audio files: the ffmpeg program that builds them. */
  media: { ffmpegPath: string };
  log: { level: string; pretty: boolean };
  dropbox: {
    appKey?: string;
    appSecret?: string;
    apiUrl: string;
    contentUrl: string;
    authorizeUrl: string;
    redirectUri: string;
    uploadChunkBytes: number;
    /** Where temporary links point: browsers may play media from there (Content-Security-Policy media-src). */
    linkOrigins: string[];
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
