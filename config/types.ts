/** The typed, frozen configuration object every component receives a slice of. */
export interface RateLimitRule {
  points: number;
  durationSec: number;
}

/** An OpenID provider whose ID tokens are accepted; no client ids means the provider is off. */
export interface OAuthProviderConfig {
  clientIds: string[];
  jwksUrl: string;
  issuers: string[];
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  logLevel: string;
  nodeId: string;
  dataDir: string;
  shutdownTimeoutMs: number;
  mongo: { url?: string; database: string; ferretPostgresUrl?: string };
  redis: { url?: string; prefix: string };
  api: {
    port: number;
    bodyLimitBytes: number;
    trustProxy: boolean;
    publicUrl: string;
    rateLimits: Record<string, RateLimitRule>;
    /** Client IPs / CIDRs exempt from every rate limit (load generators). */
    rateLimitExemptIps: string[];
  };
  auth: {
    issuer: string;
    keysDir: string;
    jwksUrl?: string;
    argon2: { memoryKiB: number; timeCost: number; parallelism: number };
    /** Base URL of mailed links; absent → `api.publicUrl`. */
    appUrl?: string;
    mail: { smtpUrl?: string; from: string };
    google: OAuthProviderConfig;
    apple: OAuthProviderConfig;
    totpIssuer: string;
  };
  calls: {
    avatar: { maxBytes: number; maxPixels: number };
    rate: { minMinor: number; maxMinor: number; currencies: string[] };
    ringTimeoutSec: number;
    sweepIntervalMs: number;
    maxDurationSec: number;
    ice: { stunUrls: string[]; turnUrls: string[]; turnSecret?: string; turnTtlSec: number };
  };
  billing: { pollMs: number; batch: number; extendAtMinutes: number; settleDelayMs: number; retryMaxMs: number };
  payments: {
    stripe: {
      secretKey?: string;
      apiBase?: string;
      webhookSecret?: string;
      webhookToleranceSec: number;
      timeoutMs: number;
      maxNetworkRetries: number;
    };
    connect: { country: string; returnUrl?: string; refreshUrl?: string };
    platformFeeBps: number;
    holdMinutes: number;
    payoutMinMinor: number;
    earningsHoldDays: number;
  };
  signal: {
    port: number;
    publicUrl: string;
    heartbeatMs: number;
    nodeTtlMs: number;
    maxFrameBytes: number;
    ratePerSec: number;
    rateBurst: number;
    maxSocketsPerUser: number;
    /** Sockets one node accepts; 0: derived from the open-file limit. */
    maxSockets: number;
    /** Connections that have not upgraded one node holds; 0: derived from the open-file limit. */
    maxPendingConnections: number;
    handshakeTimeoutMs: number;
    joinTimeoutMs: number;
    idleTimeoutMs: number;
    maxBufferedBytes: number;
    maxViolations: number;
    reconnectGraceMs: number;
    replayBuffer: number;
    tickMs: number;
    mediaReportGraceMs: number;
    sweepMs: number;
    replayFlushMs: number;
    timerMs: number;
    reauthLeadMs: number;
    reauthGraceMs: number;
    presenceTtlMs: number;
    storeTimeoutMs: number;
  };
  chat: {
    maxTextChars: number;
    userRatePerSec: number;
    userRateBurst: number;
    image: { maxBytes: number; maxPixels: number };
    recoveryMax: number;
    typingIntervalMs: number;
    broadcast: { ratePerSec: number; batch: number };
  };
}
