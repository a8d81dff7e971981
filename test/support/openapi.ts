import type { WebClient } from './app';

export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  params: string[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  maxLength?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  nullable?: boolean;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: ApiOperation['requestBody'] }>>;
  components?: { schemas?: Record<string, Schema> };
}

/** Every operation of the served OpenAPI document: the list the sweeps walk, so new routes are covered by default. */
export async function apiOperations(client: WebClient): Promise<{ doc: OpenApiDocument; operations: ApiOperation[] }> {
  const doc = (await client.agent.get('/api/docs-json')).body as OpenApiDocument;
  const operations: ApiOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      operations.push({
        method: method as ApiOperation['method'],
        path,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        requestBody: operation.requestBody,
      });
    }
  }
  return { doc, operations };
}

/** A body the schema accepts (examples first, else the simplest valid value), for JSON request bodies. */
export function sampleBody(doc: OpenApiDocument, operation: ApiOperation): unknown {
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  return schema ? sample(doc, schema) : undefined;
}

function sample(doc: OpenApiDocument, schema: Schema): unknown {
  if (schema.$ref) return sample(doc, doc.components?.schemas?.[schema.$ref.split('/').pop()!] ?? {});
  if (schema.example !== undefined) return schema.example;
  if (schema.enum?.length) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = sample(doc, schema.properties?.[key] ?? {});
      return out;
    }
    case 'array':
      return schema.items ? [sample(doc, schema.items)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'email') return 'someone@example.com';
      return 'sample';
  }
}
