import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/api.js';

describe('API /metrics', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi(); });
  afterAll(async () => { await t.stop(); });

  it('counts and times requests by method, route pattern and status, and reports event loop lag', async () => {
    for (let i = 0; i < 3; i += 1) expect((await fetch(`${t.url}/health-check`)).status).toBe(200);
    expect((await fetch(`${t.url}/v1/calls/c_missing`)).status).toBe(401);
    expect((await fetch(`${t.url}/no/such/path`)).status).toBe(404);

    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('api_http_requests_total{method="GET",route="/health-check",status="200"} 3');
    expect(text).toContain('api_http_requests_total{method="GET",route="/v1/calls/:id",status="401"} 1');
    expect(text).toContain('api_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('api_http_request_duration_seconds_count{method="GET",route="/health-check",status="200"} 3');
    expect(text).toMatch(/^api_event_loop_lag_seconds\{quantile="p99"\} \d/m);
    expect(text).toMatch(/^api_process_cpu_user_seconds_total \d/m);
    // Raw paths never become labels (bounded cardinality).
    expect(text).not.toContain('c_missing');
    expect(text).not.toContain('/no/such/path');
  });
});
