// Where an action runs: the DevTools session an element lives in (the page's own, or an
// out-of-process iframe's on the page's raw connection) and how its frame's coordinates map
// to the page's, for the mouse (the top viewport) and for hit tests (its own viewport).
import { on, ownerBox, type FrameInfo } from './page-read.js';
import type { RawCdp } from './raw-cdp.js';
import type { TabHandle } from './tab.js';

/** A CDP command on the element's session; resolves with its result. */
export type Send = <T = any>(method: string, params?: Record<string, unknown>) => Promise<T>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FrameContext {
  send: Send;
  /** In an iframe: its points depend on the frames around it. */
  framed: boolean;
  /**
   * `page`: where the session's viewport lies in the top viewport (add it to the session's
   * quads for the mouse). `frame`: where the element's frame's viewport lies in the session's
   * (subtract it from a quad for the frame's own elementFromPoint).
   */
  offsets(): Promise<{ page: { x: number; y: number }; frame: { x: number; y: number } }>;
}

const ZERO = { x: 0, y: 0 };

/**
 * The context of an element of the top document (no frame) or of a frame. Null when the
 * frame's session is gone or its document is not the one the ref was read from: the ref is
 * stale.
 */
export async function frameContext(tab: TabHandle, frame: FrameInfo | undefined): Promise<FrameContext | null> {
  const pageSend: Send = (method, params) => tab.cdp.send(method as never, params as never) as Promise<never>;
  if (!frame) return { send: pageSend, framed: false, offsets: async () => ({ page: ZERO, frame: ZERO }) };
  let raw: RawCdp | null = null;
  let sessionId: string | undefined;
  let send = pageSend;
  if (frame.slot > 0) {
    raw = await tab.rawConnection();
    const session = [...raw.frames.values()].find((s) => s.slot === frame.slot);
    if (!session) return null; // the iframe went away, or moved to another process
    sessionId = session.sessionId;
    const connection = raw;
    send = (method, params) => connection.call(method, params, sessionId);
  }
  // Same frame, same document: a frame that navigated has another loader.
  const { frameTree } = await send<{ frameTree: Tree }>('Page.getFrameTree');
  const now = find(frameTree, frame.frameId);
  if (!now || now.frame.loaderId !== frame.loaderId) return null;
  const isSessionRoot = now === frameTree;
  const sessions = raw;
  return {
    send,
    framed: true,
    offsets: async () => {
      const own = isSessionRoot ? ZERO : ((await ownerBox(send, frame.frameId)) ?? ZERO);
      return { page: sessions ? await sessionOffset(sessions, sessionId) : ZERO, frame: own };
    },
  };
}

interface Tree {
  frame: { id: string; loaderId: string };
  childFrames?: Tree[];
}

function find(tree: Tree, frameId: string): Tree | null {
  if (tree.frame.id === frameId) return tree;
  for (const child of tree.childFrames ?? []) {
    const found = find(child, frameId);
    if (found) return found;
  }
  return null;
}

/** Where an out-of-process iframe session's viewport lies in the top viewport. */
async function sessionOffset(raw: RawCdp, sessionId: string | undefined, depth = 0): Promise<{ x: number; y: number }> {
  const session = sessionId === undefined ? undefined : raw.frames.get(sessionId);
  if (!session || depth > 32) return ZERO;
  const [box, base] = await Promise.all([ownerBox(on(raw, session.parent), session.frameId), sessionOffset(raw, session.parent, depth + 1)]);
  return box ? { x: base.x + box.x, y: base.y + box.y } : base;
}
