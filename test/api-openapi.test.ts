import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { apiRoutes } from '../api/app.ts';
import { addPlatformFormats } from '../api/validation.ts';
import { componentSchemas } from '../api/schemas/index.ts';
import { errorCodes } from '../errors/catalogue.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; operationId: string }>>;
  components: { schemas: Record<string, unknown> };
};

describe('Admin API: OpenAPI document', () => {
  let fixture: ApiFixture;
  let document: Document;

  before(async () => {
    fixture = await startApiFixture();
    document = (await fixture.api('GET', '/api/v1/openapi.json', { token: null })).body;
  });
  after(async () => {
    await fixture.close();
  });

  /** Checks an answer against the schema the document publishes for it. */
  function conforms(schemaName: string, value: unknown): void {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addPlatformFormats(ajv);
    ajv.addSchema({ $id: 'https://provisio.dev/openapi.json', components: document.components });
    const validate = ajv.compile({ $ref: `https://provisio.dev/openapi.json#/components/schemas/${schemaName}` });
    assert.ok(validate(value), `${schemaName}: ${ajv.errorsText(validate.errors)}`);
  }

  it('Should be a valid OpenAPI 3.1 document', async () => {
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('Should describe every route the server mounts, with the bearer scheme where a token is needed', () => {
    const routes = apiRoutes({ ...fixture, adminTokens: fixture.authenticator });
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method];
      assert.ok(operation, `${route.method} ${route.path} is documented`);
      assert.ok(operation.responses['500'], `${route.operationId} documents 500`);
      if (route.auth === 'bearer') {
        assert.equal(operation.security, undefined, 'inherits the global bearer requirement');
        assert.ok(operation.responses['401'] && operation.responses['403']);
      } else {
        assert.deepEqual(operation.security, []);
      }
    }
    const operationIds = routes.map((route) => route.operationId);
    assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique');
  });

  it('Should publish the very schemas the validators use', () => {
    assert.deepEqual(document.components.schemas, JSON.parse(JSON.stringify(componentSchemas)));
    assert.deepEqual((document.components.schemas['Problem'] as { properties: { code: { enum: string[] } } }).properties.code.enum, errorCodes);
  });

  it('Should describe the answers the server really gives', async () => {
    const account = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'documented' } });
    conforms('Account', account.body);
    conforms('AccountPage', (await fixture.api('GET', '/api/v1/accounts')).body);
    const request = await fixture.api('POST', '/api/v1/provision-requests', {
      body: { accountId: account.body.id, clientId: 'doc-1', generateActivationKey: true },
    });
    conforms('CreatedProvisionRequest', request.body);
    conforms('ProvisionRequest', (await fixture.api('GET', `/api/v1/provision-requests/${request.body.id}`)).body);
    conforms('ProvisionRequestPage', (await fixture.api('GET', '/api/v1/provision-requests')).body);
    const batch = await fixture.api('POST', '/api/v1/provision-requests/batch', {
      body: {
        requests: [
          { accountId: account.body.id, clientId: 'doc-2' },
          { accountId: account.body.id, clientId: 'doc-1' },
        ],
      },
    });
    conforms('ProvisionRequestBatchResult', batch.body);
    const configuration = await fixture.api('POST', '/api/v1/configurations', { body: { accountId: account.body.id, name: 'c', content: { x: 1 } } });
    conforms('Configuration', configuration.body);
    conforms('ConfigurationPage', (await fixture.api('GET', `/api/v1/configurations?accountId=${account.body.id}`)).body);
    conforms('CertificatePage', (await fixture.api('GET', '/api/v1/certificates')).body);
    conforms('AuditEventPage', (await fixture.api('GET', '/api/v1/audit-events')).body);
    conforms('CreatedApiToken', (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: account.body.id } })).body);
    conforms('Problem', (await fixture.api('GET', '/api/v1/accounts/missing')).body);
    conforms('Problem', (await fixture.api('POST', '/api/v1/accounts', { body: { name: 1 } })).body);
  });
});
