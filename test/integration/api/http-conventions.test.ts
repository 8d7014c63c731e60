import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/api.js';

describe('HTTP conventions', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi(); });
  afterAll(async () => { await t.stop(); });

  it('answers /health-check in the success envelope with request id and API version', async () => {
    const res = await fetch(`${t.url}/health-check`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, data: { status: 'ok' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(res.headers.get('x-api-version')).toBe('1.0.0');
  });
});
