// The default workload: every tab goes to the next of the local pages each iteration (text, a
// table, a form, script-made nodes with listeners and a timer, frames), all tabs at once.
import { CYCLE } from '../pages.js';
import { navigateAll } from './common.js';
import type { Workload } from './types.js';

const navigate: Workload = {
  name: 'navigate',
  async iteration(ctx, i) {
    await navigateAll(ctx, (_, k) => `${ctx.pagesUrl}${CYCLE[(i + k) % CYCLE.length]}?i=${i}`);
  },
};
export default navigate;
