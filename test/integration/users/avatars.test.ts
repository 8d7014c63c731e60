import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/api.js';
import { call, makeUser } from './fixtures.js';
import { jpegBytes, pngBytes, webpLossyBytes } from './images.js';

const MAX_BYTES = 65536;

async function upload(t: TestApi, token: string, bytes: Buffer, name: string, type: string, field = 'avatar') {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type }), name);
  const res = await fetch(`${t.url}/v1/users/me/avatar`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() as any };
}

describe('avatars: upload, sniffing, limits, serving', () => {
  let t: TestApi;
  beforeAll(async () => { t = await startTestApi({ env: { AVATAR_MAX_BYTES: String(MAX_BYTES), AVATAR_MAX_PIXELS: '1000000' } }); });
  afterAll(async () => { await t.stop(); });

  it('stores a PNG and serves it with type, ETag, cache headers and 304', async () => {
    const { token } = await makeUser(t, 'user');
    const png = pngBytes(64, 48);
    const res = await upload(t, token, png, 'me.png', 'image/png');
    expect(res.status).toBe(200);
    const url: string = res.body.data.avatar_url;
    expect(url).toMatch(new RegExp(`^${t.config.api.publicUrl}/v1/avatars/[0-9A-Z]{26}$`));
    const served = await fetch(url.replace(t.config.api.publicUrl, t.url));
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
    const etag = served.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await fetch(url.replace(t.config.api.publicUrl, t.url), { headers: { 'If-None-Match': `W/"nope", ${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('judges the type by the bytes: a lying name or declared type does not matter', async () => {
    const { token } = await makeUser(t, 'user');
    const jpeg = await upload(t, token, jpegBytes(100, 100), 'notes.txt', 'text/plain');
    expect(jpeg.status).toBe(200);
    const served = await fetch(jpeg.body.data.avatar_url.replace(t.config.api.publicUrl, t.url));
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    const webp = await upload(t, token, webpLossyBytes(50, 50), 'x.gif', 'image/gif');
    expect(webp.status).toBe(200);
    const text = await upload(t, token, Buffer.from('<?php echo 1; ?>'), 'evil.png', 'image/png');
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const gif = await upload(t, token, Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00', 'latin1'), 'a.jpg', 'image/jpeg');
    expect(gif.status).toBe(415);
    const svg = await upload(t, token, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'a.webp', 'image/webp');
    expect(svg.status).toBe(415);
  });

  it('refuses oversized files (streamed and declared) and oversized pixel counts', async () => {
    const { token } = await makeUser(t, 'user');
    const streamed = Buffer.concat([pngBytes(8, 8), Buffer.alloc(MAX_BYTES + 1000)]);
    const res = await upload(t, token, streamed, 'big.png', 'image/png');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    const declared = await upload(t, token, Buffer.concat([pngBytes(8, 8), Buffer.alloc(4 * MAX_BYTES)]), 'huge.png', 'image/png');
    expect(declared.status).toBe(413);
    const bomb = await upload(t, token, pngBytes(2000, 2000), 'bomb.png', 'image/png');
    expect(bomb.status).toBe(400);
    expect(bomb.body.error).toMatchObject({ code: 'validation_error', details: { avatar: expect.stringContaining('2000x2000') } });
    expect((await call(t, 'GET', '/v1/users/me', { token })).body.data.avatar_url).toBeNull();
  });

  it('refuses a missing file, a non-multipart body and anonymous callers', async () => {
    const { token } = await makeUser(t, 'user');
    const wrongField = await upload(t, token, pngBytes(8, 8), 'a.png', 'image/png', 'picture');
    expect(wrongField.status).toBe(400);
    expect(wrongField.body.error.details).toHaveProperty('avatar');
    const json = await call(t, 'PUT', '/v1/users/me/avatar', { token, body: { avatar: 'aGVsbG8=' } });
    expect(json.status).toBe(415);
    const two = new FormData();
    for (const name of ['a.png', 'b.png']) two.append('avatar', new Blob([pngBytes(8, 8)], { type: 'image/png' }), name);
    const twoFiles = await fetch(`${t.url}/v1/users/me/avatar`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body: two });
    expect(twoFiles.status).toBe(400);
    expect(((await twoFiles.json()) as any).error).toMatchObject({ code: 'validation_error', details: { avatar: 'is required (one file)' } });
    const anonymous = await fetch(`${t.url}/v1/users/me/avatar`, { method: 'PUT', body: new FormData() });
    expect(anonymous.status).toBe(401);
  });

  it('deletes the previous image when replaced', async () => {
    const { token } = await makeUser(t, 'user');
    const first = (await upload(t, token, pngBytes(10, 10), 'a.png', 'image/png')).body.data.avatar_url as string;
    const second = (await upload(t, token, pngBytes(12, 12), 'b.png', 'image/png')).body.data.avatar_url as string;
    expect(second).not.toBe(first);
    expect((await fetch(second.replace(t.config.api.publicUrl, t.url))).status).toBe(200);
    const gone = await call(t, 'GET', first.replace(t.config.api.publicUrl, ''));
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('not_found');
    expect(await t.db.collection('avatars.files').countDocuments({})).toBeGreaterThan(0);
    expect(await t.db.collection('avatars.files').countDocuments({ _id: first.split('/').pop() as never })).toBe(0);
    expect(await t.db.collection('avatars.chunks').countDocuments({ files_id: first.split('/').pop() as never })).toBe(0);
  });

  it('answers 404 for unknown avatar ids', async () => {
    expect((await call(t, 'GET', '/v1/avatars/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await call(t, 'GET', '/v1/avatars/not-an-id')).status).toBe(404);
  });
});
