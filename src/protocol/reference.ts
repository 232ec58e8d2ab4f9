// Renders the protocol reference (docs/protocol.md) from the method schemas, so the
// documentation can never drift from what the server validates: a test compares the two.
import { z } from 'zod';
import { methods } from './methods.js';

type Json = { type?: string | string[]; properties?: Record<string, Json>; required?: string[]; items?: Json; enum?: unknown[]; const?: unknown; anyOf?: Json[]; additionalProperties?: Json | boolean; description?: string; pattern?: string; default?: unknown; $ref?: string };

/** A compact TypeScript-like rendering of a JSON schema. */
function render(schema: Json | undefined): string {
  if (!schema) return '—';
  // A named (recursive) schema, e.g. StateValue: by its name.
  if (schema.$ref) return schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.anyOf) {
    const parts = schema.anyOf.filter((s) => s.type !== 'null').map(render);
    return schema.anyOf.some((s) => s.type === 'null') ? `${parts.join(' \\| ')} \\| null` : parts.join(' \\| ');
  }
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  switch (schema.type) {
    case 'object': {
      if (!schema.properties || Object.keys(schema.properties).length === 0) {
        return typeof schema.additionalProperties === 'object' ? `{ [key]: ${render(schema.additionalProperties)} }` : '—';
      }
      const required = new Set(schema.required ?? []);
      const fields = Object.entries(schema.properties).map(
        ([name, s]) => `${name}${required.has(name) ? '' : '?'}: ${render(s)}${s.default === undefined ? '' : ` = ${JSON.stringify(s.default)}`}`,
      );
      return `{ ${fields.join(', ')} }`;
    }
    case 'array': {
      const item = render(schema.items);
      return item.includes('|') ? `(${item})[]` : `${item}[]`;
    }
    case 'integer':
      return 'integer';
    default:
      return schema.type ?? 'unknown';
  }
}

export function renderReference(): string {
  const rows = Object.entries(methods).map(([name, m]) => {
    const params = render(z.toJSONSchema(m.params, { unrepresentable: 'any', io: 'input' }) as Json);
    const result = render(z.toJSONSchema(m.result, { unrepresentable: 'any' }) as Json);
    return `| \`${name}\` | ${params} | ${result} | ${m.summary} |`;
  });
  return ['| method | params | result | |', '|---|---|---|---|', ...rows].join('\n');
}
