// Instances and tabs open on a page, nothing happening: an iteration is a second passing.
import { sleep } from './common.js';
import { navigateAll } from './common.js';
import type { Workload } from './types.js';

const idle: Workload = {
  name: 'idle',
  idle: true,
  async setup(ctx) {
    await navigateAll(ctx, () => `${ctx.pagesUrl}/p/script`);
  },
  async iteration(ctx) {
    await sleep(1_000, ctx.signal);
  },
};
export default idle;
