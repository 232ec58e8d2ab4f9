// Snapshot, fill, click, snapshot again and diff, on every tab, each iteration: the path an
// agent takes through a page (refs, the analysis workers, input events).
import { navigateAll, whenUp } from './common.js';
import type { Workload } from './types.js';

const interact: Workload = {
  name: 'interact',
  async setup(ctx) {
    await navigateAll(ctx, () => `${ctx.pagesUrl}/interact`);
  },
  async iteration(ctx, i) {
    await Promise.all(
      ctx.instances.flatMap((instanceId) =>
        (ctx.tabsOf[instanceId] ?? []).map((tabId) =>
          whenUp(ctx, instanceId, async () => {
            const before = await ctx.client.call('tab.snapshot', { tabId });
            const field = before.nodes.find((n) => n.role === 'textbox');
            const button = before.nodes.find((n) => n.role === 'button' && n.name === 'Apply');
            if (!field || !button) throw new Error(`the interact page has no field or button (${before.url})`);
            await ctx.client.call('tab.action', { tabId, action: 'fill', ref: field.ref, text: `value ${i}` });
            await ctx.client.call('tab.action', { tabId, action: 'click', ref: button.ref });
            await ctx.client.call('tab.snapshot', { tabId, filter: 'interactive' });
            await ctx.client.call('analysis.diff', { tabId, since: before.snapshotId });
          }),
        ),
      ),
    );
  },
};
export default interact;
