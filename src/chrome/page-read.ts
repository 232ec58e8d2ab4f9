// Reading a page and its frames for the analysis pool, as raw bytes. The page's own session
// gives its DOM snapshot (with the documents of the frames in its process) and one
// accessibility tree per frame; each out-of-process iframe is read the same way on its own
// session. Where each frame lies on the page comes from its <iframe> element's content box.
import type { SessionRead } from '../analysis/frame-tree.js';
import type { RawCdp } from './raw-cdp.js';

interface FrameTree {
  frame: { id: string; loaderId: string; url: string; urlFragment?: string };
  childFrames?: FrameTree[];
}

/** A frame as it was read: refs into it name its session (slot) and its document (loaderId). */
export interface FrameInfo {
  frameId: string;
  /** 0: the page's own session; else an out-of-process iframe's session (see RawCdp.frames). */
  slot: number;
  loaderId: string;
  url: string;
}

export interface FramesRead {
  /** The page's own session first, then each out-of-process iframe's. */
  sessions: (Omit<SessionRead, 'dom' | 'ax'> & { dom: Buffer; ax: { frameId?: string; tree: Buffer }[] })[];
  /** Every frame read, the top one first. */
  frames: FrameInfo[];
}

export async function readFrames(raw: RawCdp, computedStyles: string[], signal?: AbortSignal): Promise<FramesRead> {
  await raw.settled();
  const remote = [...raw.frames.values()];
  const outOfProcess = new Set(remote.map((f) => f.frameId));
  const sessions = [{ sessionId: undefined, slot: 0, frameId: '', parent: undefined as string | undefined }, ...remote];
  const reads = await Promise.all(
    sessions.map(async ({ sessionId, slot, frameId, parent }, k) => {
      const work = async () => {
        const dom = raw.send('DOMSnapshot.captureSnapshot', { computedStyles, includeDOMRects: false }, signal, sessionId);
        const rootTree = raw.send('Accessibility.getFullAXTree', {}, signal, sessionId);
        // An iframe session's place: its <iframe> element in the parent session.
        const owner = k === 0 ? null : ownerBox(on(raw, parent, signal), frameId, signal);
        // Each is awaited below, where its failure counts; until then a failure of the frame
        // tree's read (an abort fails them all at once) must not leave these unhandled.
        for (const pending of [dom, rootTree, owner]) pending?.catch(() => {});
        const { frameTree } = await raw.call<{ frameTree: FrameTree }>('Page.getFrameTree', {}, sessionId, signal);
        const local = inProcess(frameTree, outOfProcess);
        const children = await Promise.all(
          local.slice(1).map(async (frame) => {
            const [tree, box] = await Promise.all([
              // A frame gone meanwhile has no tree: its elements (if read) are named from the DOM.
              raw.send('Accessibility.getFullAXTree', { frameId: frame.id }, signal, sessionId).catch(() => null),
              ownerBox(on(raw, sessionId, signal), frame.id, signal),
            ]);
            return { frameId: frame.id, tree, box };
          }),
        );
        return { slot, local, dom: await dom, rootTree: await rootTree, owner: await owner, children };
      };
      if (k === 0) return work();
      // An iframe that went away while it was read is left out.
      return work().catch((error: unknown) => {
        if (signal?.aborted) throw error;
        return null;
      });
    }),
  );
  // Where each session's viewport lies in the page's: its <iframe>'s box in the parent's, moved by the parent's.
  const indexOf = new Map(sessions.map((s, k) => [s.sessionId, k]));
  const offsets = new Map<number, { x: number; y: number } | null>([[0, { x: 0, y: 0 }]]);
  const offsetOf = (k: number, depth = 0): { x: number; y: number } | null => {
    if (offsets.has(k)) return offsets.get(k) ?? null;
    const box = reads[k]?.owner;
    const parent = indexOf.get(sessions[k]?.parent);
    const base = box && parent !== undefined && depth < 32 ? offsetOf(parent, depth + 1) : null;
    const offset = box && base ? { x: base.x + box.x, y: base.y + box.y } : null;
    offsets.set(k, offset);
    return offset;
  };
  const out: FramesRead = { sessions: [], frames: [] };
  const index = new Map<number, number>();
  reads.forEach((read, k) => {
    if (!read) return;
    const base = offsetOf(k);
    const origins: SessionRead['origins'] = [];
    const own = read.local[0];
    if (k > 0 && base && own) origins.push({ frameId: own.id, ...base });
    const ax: FramesRead['sessions'][number]['ax'] = [{ tree: read.rootTree }];
    for (const child of read.children) {
      if (child.tree) ax.push({ frameId: child.frameId, tree: child.tree });
      if (child.box && base) origins.push({ frameId: child.frameId, x: base.x + child.box.x, y: base.y + child.box.y });
    }
    const parent = index.get(indexOf.get(sessions[k]?.parent) ?? -1);
    index.set(k, out.sessions.length);
    out.sessions.push({
      dom: read.dom,
      ax,
      origins,
      ...(k > 0 && read.owner && parent !== undefined ? { owner: { parent, backendNodeId: read.owner.backendNodeId } } : {}),
    });
    for (const frame of read.local) out.frames.push(info(frame, read.slot));
  });
  return out;
}

/** The frames in a session's process: its own and the in-process ones below it. */
function inProcess(tree: FrameTree, outOfProcess: ReadonlySet<string>): FrameTree['frame'][] {
  const local: FrameTree['frame'][] = [];
  const walk = (node: FrameTree) => {
    if (node !== tree && outOfProcess.has(node.frame.id)) return;
    local.push(node.frame);
    node.childFrames?.forEach(walk);
  };
  walk(tree);
  return local;
}

const info = (frame: FrameTree['frame'], slot: number): FrameInfo => ({ frameId: frame.id, slot, loaderId: frame.loaderId, url: frame.url + (frame.urlFragment ?? '') });

/** Commands on one session of the raw connection. */
export const on =
  (raw: RawCdp, sessionId: string | undefined, signal?: AbortSignal) =>
  <T>(method: string, params: Record<string, unknown>) =>
    raw.call<T>(method, params, sessionId, signal);

/**
 * A frame's <iframe> element, asked on the session it lives in, and the top left of its
 * content box in that session's viewport; null when it has no box.
 */
export async function ownerBox(
  send: <T>(method: string, params: Record<string, unknown>) => Promise<T>,
  frameId: string,
  signal?: AbortSignal,
): Promise<{ backendNodeId: number; x: number; y: number } | null> {
  try {
    const { backendNodeId } = await send<{ backendNodeId: number }>('DOM.getFrameOwner', { frameId });
    const { model } = await send<{ model: { content: number[] } }>('DOM.getBoxModel', { backendNodeId });
    return { backendNodeId, x: model.content[0] ?? 0, y: model.content[1] ?? 0 };
  } catch (error) {
    if (signal?.aborted) throw error;
    return null; // not rendered (no box), or gone meanwhile
  }
}

/** The page's frames, the top one first, without reading them (one round trip per session). */
export async function listFrames(raw: RawCdp, signal?: AbortSignal): Promise<FrameInfo[]> {
  await raw.settled();
  const remote = [...raw.frames.values()];
  const outOfProcess = new Set(remote.map((f) => f.frameId));
  const lists = await Promise.all(
    [{ sessionId: undefined, slot: 0 }, ...remote].map(async ({ sessionId, slot }, k) => {
      const tree = raw.call<{ frameTree: FrameTree }>('Page.getFrameTree', {}, sessionId, signal);
      const { frameTree } = await (k === 0 ? tree : tree.catch(() => ({ frameTree: null })));
      return frameTree ? inProcess(frameTree, outOfProcess).map((frame) => info(frame, slot)) : [];
    }),
  );
  return lists.flat();
}
