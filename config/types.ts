/** The typed, frozen configuration object every component receives a slice of. */
export interface RateLimitRule {
  points: number;
  durationSec: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  logLevel: string;
  nodeId: string;
  dataDir: string;
  shutdownTimeoutMs: number;
  mongo: { url?: string; database: string };
  redis: { url?: string; prefix: string };
  api: {
    port: number;
    bodyLimitBytes: number;
    trustProxy: boolean;
    publicUrl: string;
    rateLimits: Record<string, RateLimitRule>;
  };
  auth: {
    issuer: string;
    keysDir: string;
    jwksUrl?: string;
  };
  signal: {
    port: number;
    publicUrl: string;
    heartbeatMs: number;
    nodeTtlMs: number;
    allowFallback: boolean;
  };
}
