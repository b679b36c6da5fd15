/**
 * The breaking-change check (scripts/lib/breaking-changes.ts, `npm run spec:breaking`): the spec
 * passes against the released 0.1.0, and each kind of break, made on a copy of the current spec,
 * is reported at the operation it breaks; changes that break nobody are not.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { breakingChanges } from '../scripts/lib/breaking-changes';
import type { OpenApiDocument, SchemaObject } from '../scripts/lib/openapi';
import { repoPath } from '../scripts/lib/paths';
import { spec } from './support/spec';

/** The breaks a change to a copy of the current spec makes. */
function breaksOf(change: (copy: OpenApiDocument, schemas: Record<string, SchemaObject>) => void): string[] {
  const copy = structuredClone(spec);
  change(copy, copy.components!.schemas!);
  return breakingChanges(spec, copy);
}

describe('breaking changes of the spec', () => {
  it('npm run spec:breaking passes: none against the released 0.1.0', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', repoPath('scripts/spec-breaking.ts')],
      { cwd: repoPath('.') },
    );
    expect(stdout).toBe('No breaking changes against the released 0.1.0.\n');
  });

  it('flags a removed operation', () => {
    expect(
      breaksOf((copy) => {
        delete copy.paths['/v1/devices/{device_id}']!.delete;
      }),
    ).toEqual(['DELETE /v1/devices/{device_id}: operation deleteDevice removed']);
  });

  it('flags a response property removed, renamed or no longer always present', () => {
    const removed = breaksOf((_, schemas) => {
      delete schemas.Device!.properties!.hostname;
      schemas.Device!.required = schemas.Device!.required!.filter((name) => name !== 'hostname');
    });
    expect(removed).toContain(
      'GET /v1/devices/{device_id} response 200: property `hostname` removed or renamed',
    );
    expect(removed).toContain('GET /v1/devices response 200.data[]: property `hostname` removed or renamed');
    const renamed = breaksOf((_, schemas) => {
      const site = schemas.Site!;
      site.properties = { ...site.properties, display_name: site.properties!.name! };
      delete site.properties.name;
      site.required = site.required!.map((name) => (name === 'name' ? 'display_name' : name));
    });
    expect(renamed).toContain('GET /v1/sites/{site_id} response 200: property `name` removed or renamed');
    const optional = breaksOf((_, schemas) => {
      schemas.Site!.required = schemas.Site!.required!.filter((name) => name !== 'name');
    });
    expect(optional).toContain(
      'GET /v1/sites/{site_id} response 200: property `name` no longer always present',
    );
  });

  it('flags request properties and parameters that became required, and request properties dropped', () => {
    expect(
      breaksOf((_, schemas) => {
        schemas.SiteCreate!.required!.push('description');
      }),
    ).toEqual(['POST /v1/sites request body: property `description` is now required']);
    expect(
      breaksOf((copy) => {
        const parameters = copy.paths['/v1/devices']!.get!.parameters as {
          name: string;
          required?: boolean;
        }[];
        parameters.find((parameter) => parameter.name === 'site_id')!.required = true;
        parameters.push({ name: 'region', in: 'query', required: true, schema: { type: 'string' } } as never);
      }),
    ).toEqual([
      'GET /v1/devices: query parameter `site_id` is now required',
      'GET /v1/devices: query parameter `region` added as required',
    ]);
    expect(
      breaksOf((_, schemas) => {
        delete schemas.SiteCreate!.properties!.description;
      }),
    ).toEqual(['POST /v1/sites request body: property `description` no longer accepted']);
  });

  it('flags a narrowed enum', () => {
    const breaks = breaksOf((_, schemas) => {
      schemas.DeviceStatus!.enum = schemas.DeviceStatus!.enum!.filter((value) => value !== 'degraded');
    });
    expect(breaks).toContain(
      'GET /v1/devices query parameter `status`: enum narrowed: no longer accepts "degraded"',
    );
  });

  it('flags changed types, a response that may now be null included', () => {
    const breaks = breaksOf((_, schemas) => {
      schemas.Site!.properties!.name = { type: 'integer', minimum: 0, maximum: 10 };
      schemas.Device!.properties!.name = { type: ['string', 'null'], maxLength: 100 };
      schemas.SiteCreate!.properties!.description = { type: 'integer', minimum: 0, maximum: 10 };
    });
    expect(breaks).toContain(
      'GET /v1/sites/{site_id} response 200.name: type changed from string to integer (may now be integer)',
    );
    expect(breaks).toContain(
      'GET /v1/devices/{device_id} response 200.name: type changed from string to string|null (may now be null)',
    );
    expect(breaks).toContain(
      'POST /v1/sites request body.description: type changed from string to integer (no longer accepts string)',
    );
  });

  it('flags a webhook removed, and a webhook payload changed as a response would break', () => {
    const breaks = breaksOf((copy, schemas) => {
      delete copy.webhooks!['device.enrolled'];
      delete schemas.WebhookEventPayload!.properties!.timestamp;
    });
    expect(breaks).toContain('webhook device.enrolled: removed');
    expect(breaks).toContain('webhook device.offline payload: property `timestamp` removed or renamed');
  });

  it('passes changes that break nobody: new operations, new optional inputs, new outputs, wider inputs', () => {
    expect(
      breaksOf((copy, schemas) => {
        copy.paths['/v1/new-things'] = {
          get: { ...copy.paths['/v1/sites']!.get!, operationId: 'listNewThings' },
        };
        schemas.SiteCreate!.properties!.notes = { type: 'string', maxLength: 10 };
        schemas.Site!.properties!.notes = { type: 'string', maxLength: 10 };
        schemas.DeviceStatus!.enum = [...schemas.DeviceStatus!.enum!, 'retired'];
        schemas.SiteCreate!.required = [];
        const parameters = copy.paths['/v1/devices']!.get!.parameters!;
        parameters.push({ name: 'region', in: 'query', schema: { type: 'string' } } as never);
      }),
    ).toEqual([]);
  });
});
