// The protocol reference in docs/protocol.md is the one the schemas generate, and the schemas
// carry every method and field name that PROTOCOL.md fixes for this stage.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { methods } from '../../src/protocol/methods.js';
import { renderReference } from '../../src/protocol/reference.js';
import { REFERENCE_FILE, spliceReference } from './reference-markers.js';

describe('protocol reference', () => {
  it(`${REFERENCE_FILE} holds exactly the generated reference (run scripts/gen-protocol-reference.ts)`, () => {
    const text = readFileSync(REFERENCE_FILE, 'utf8');
    expect(spliceReference(text, renderReference())).not.toBeNull(); // the markers are there
    expect(spliceReference(text, renderReference())).toBe(text);
  });

  it('names the methods and fields of PROTOCOL.md', () => {
    expect(Object.keys(methods)).toEqual(
      expect.arrayContaining(['system.hello', 'system.health', 'instance.create', 'instance.list', 'instance.get', 'instance.restart', 'instance.stop', 'tab.open', 'tab.list', 'tab.close', 'tab.navigate', 'events.subscribe', 'events.unsubscribe']),
    );
    expect(Object.keys(methods['tab.navigate'].params.shape)).toEqual(['tabId', 'url', 'waitUntil', 'timeoutMs']);
    expect(Object.keys(methods['tab.navigate'].result.shape)).toEqual(['url', 'status', 'title', 'loadMs']);
    expect(Object.keys(methods['instance.create'].result.shape)).toEqual(['instanceId', 'state', 'pid', 'launchMs']);
    expect(methods['instance.list'].result.shape.instances.element.shape).toMatchObject({
      instanceId: expect.anything(), name: expect.anything(), state: expect.anything(), pid: expect.anything(),
      tabs: expect.anything(), memory: expect.anything(), restarts: expect.anything(), createdAt: expect.anything(),
    });
  });

  it('rejects unknown fields so that typos are caught, not ignored', () => {
    expect(methods['tab.open'].params.safeParse({ instanceId: 'i-1', ulr: 'http://x' }).success).toBe(false);
    expect(methods['tab.open'].params.safeParse({ instanceId: 'i-1', url: 'http://x' }).success).toBe(true);
  });
});
