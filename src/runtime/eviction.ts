// Memory relief, when an instance crosses its soft limit: every page collects garbage, and
// the tabs its client marked evictable that nobody has used for a while are closed.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { FleetView } from './fleet-view.js';
import { usableStates } from './views.js';
import type { World } from './world.js';

export interface EvictionHost {
  log: Logger;
  world: World;
  view: FleetView;
  /** Evictable tabs unused for this long are closed. */
  evictIdleMs: number;
  /** A client call is under way on the tab: it is in use, whatever its last use says. */
  busy(tabId: string): boolean;
  closeTab(instanceId: string, tabId: string, reason: string): void;
}

export async function relieveMemory(instanceId: string, host: EvictionHost): Promise<void> {
  const { log, world, view } = host;
  await Promise.all(
    world.tabHandles(instanceId).map((tab) =>
      tab.collectGarbage().catch((error: unknown) => log.debug({ actor: tab.tabId, err: errorMessage(error) }, 'garbage collection refused (the tab is going down or hung)')),
    ),
  );
  const idleSince = Date.now() - host.evictIdleMs;
  for (const tab of view.tabsOf(instanceId)) {
    if (tab.evictable && usableStates.has(tab.state) && !host.busy(tab.tabId) && tab.lastUsedAt <= idleSince) {
      log.warn({ actor: tab.tabId, instance: instanceId }, 'closing idle evictable tab under memory pressure');
      host.closeTab(instanceId, tab.tabId, 'evicted: instance above soft memory limit');
    }
  }
}
