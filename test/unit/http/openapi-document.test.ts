import { describe, expect, it } from 'vitest';
import { OAS_BASE_DIALECT, buildOpenApi } from '../../../api/openapi/build.js';

describe('buildOpenApi', () => {
  it('declares the OpenAPI 3.1 base dialect (Swagger UI warns on any other jsonSchemaDialect)', () => {
    const document = buildOpenApi([], { version: '1.0.0', serverUrl: 'http://127.0.0.1' });
    expect(OAS_BASE_DIALECT).toBe('https://spec.openapis.org/oas/3.1/dialect/base');
    expect(document['jsonSchemaDialect']).toBe(OAS_BASE_DIALECT);
    expect(document['openapi']).toBe('3.1.0');
  });
});
