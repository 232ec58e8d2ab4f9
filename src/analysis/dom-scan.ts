// Reads the raw DOMSnapshot.captureSnapshot response into typed arrays: each document's
// (the page's and its in-process frames') node table, its attributes, input values and layout (box and the one computed style asked
// for), and where each string of the shared table lies in the bytes. JSON.parse would make an
// array per node's attributes and per layout box, style list and text box (~90,000 on a
// 5,000-control page); here the numbers go straight into a few Int32Arrays and strings are
// decoded only when the page model asks for one (tag names, and attributes of the elements
// it keeps).
import { JsonBytes, readResult } from './json-bytes.js';

/** The shared string table, decoded on demand. */
export class StringTable {
  private readonly decoded: (string | undefined)[];

  constructor(
    private readonly json: JsonBytes,
    private readonly starts: Int32Array,
  ) {
    this.decoded = new Array<string | undefined>(starts.length);
  }

  get size(): number {
    return this.starts.length;
  }

  /** String `i`, or '' for -1 and indexes out of the table (as CDP means them). */
  get(i: number | undefined): string {
    if (i === undefined || i < 0 || i >= this.starts.length) return '';
    let value = this.decoded[i];
    if (value === undefined) this.decoded[i] = value = this.json.text(this.starts[i] as number);
    return value;
  }

  /** The first index whose string is exactly `name` (ASCII, compared as bytes), or -1. */
  indexOf(name: string): number {
    const b = this.json.b;
    for (let i = 0; i < this.starts.length; i++) {
      const at = this.starts[i] as number;
      if (b[at + 1 + name.length] !== 34) continue;
      let k = 0;
      while (k < name.length && b[at + 1 + k] === name.charCodeAt(k)) k++;
      if (k === name.length) return i;
    }
    return -1;
  }
}

/** One document of a DOM snapshot; node arrays are indexed by node, layout ones by layout entry. */
export interface DomTables {
  strings: StringTable;
  nodeCount: number;
  /** The frame it is the document of (a string index). */
  frameId: number;
  /** How far the document is scrolled: layout boxes are in document coordinates. */
  scrollX: number;
  scrollY: number;
  /** <iframe> elements whose document is in this snapshot: node index → document index. */
  contentDocuments: { index: Int32Array; value: Int32Array };
  parentIndex: Int32Array;
  nodeType: Int32Array;
  nodeName: Int32Array;
  nodeValue: Int32Array;
  backendNodeId: Int32Array;
  /** Node k's attributes are name, value string indexes in attributes[attributeStart[k] … attributeStart[k+1]). */
  attributeStart: Int32Array;
  attributes: Int32Array;
  inputValue: { index: Int32Array; value: Int32Array };
  layout: {
    nodeIndex: Int32Array;
    /** The first computed style asked for (see CAPTURED_STYLES), a string index or -1. */
    style: Int32Array;
    /** x, y, width, height per layout entry. */
    bounds: Float64Array;
  };
}

const NONE: Int32Array = new Int32Array(0);

type Document = Omit<DomTables, 'strings' | 'nodeCount'>;

/** The main document of the snapshot. */
export function scanDomSnapshot(bytes: Uint8Array): DomTables {
  return scanDomDocuments(bytes, 1)[0] as DomTables;
}

/**
 * Every document of the snapshot (at most `limit`): the main one first, then those of the
 * frames that run in its process, which its <iframe> elements point at (contentDocuments).
 */
export function scanDomDocuments(bytes: Uint8Array, limit = Infinity): DomTables[] {
  const json = new JsonBytes(bytes, 'DOM snapshot');
  let starts: Int32Array = NONE;
  const documents: Document[] = [];
  readResult(json, (at) =>
    json.object(at, (key, value) => {
      if (json.is(key, 'strings')) {
        starts = json.stringStarts(value);
        return json.end;
      }
      if (!json.is(key, 'documents')) return undefined;
      return json.array(value, (item) => (documents.length >= limit ? json.skip(item) : (documents.push(readDocument(json, item)), json.end)));
    }),
  );
  if (!documents.length) documents.push(emptyDocument());
  const strings = new StringTable(json, starts);
  return documents.map((doc) => ({ ...doc, strings, nodeCount: doc.nodeType.length }));
}

function emptyDocument(): Document {
  return {
    frameId: -1,
    scrollX: 0,
    scrollY: 0,
    contentDocuments: { index: NONE, value: NONE },
    parentIndex: NONE,
    nodeType: NONE,
    nodeName: NONE,
    nodeValue: NONE,
    backendNodeId: NONE,
    attributeStart: new Int32Array(1),
    attributes: NONE,
    inputValue: { index: NONE, value: NONE },
    layout: { nodeIndex: NONE, style: NONE, bounds: new Float64Array(0) },
  };
}

/** One document; `json.end` is set past it. */
function readDocument(json: JsonBytes, at: number): Document {
  const doc = emptyDocument();
  json.end = json.object(at, (key, value) => {
    if (json.is(key, 'frameId')) {
      doc.frameId = json.number(value);
      return json.end;
    }
    if (json.is(key, 'scrollOffsetX') || json.is(key, 'scrollOffsetY')) {
      const offset = json.number(value);
      if (json.is(key, 'scrollOffsetX')) doc.scrollX = offset;
      else doc.scrollY = offset;
      return json.end;
    }
    if (json.is(key, 'nodes')) {
      return json.object(value, (k, v) => {
        if (json.is(k, 'parentIndex')) doc.parentIndex = json.ints(v);
        else if (json.is(k, 'nodeType')) doc.nodeType = json.ints(v);
        else if (json.is(k, 'nodeName')) doc.nodeName = json.ints(v);
        else if (json.is(k, 'nodeValue')) doc.nodeValue = json.ints(v);
        else if (json.is(k, 'backendNodeId')) doc.backendNodeId = json.ints(v);
        else if (json.is(k, 'attributes')) {
          const { starts, values } = json.intLists(v);
          doc.attributeStart = starts;
          doc.attributes = values;
        } else if (json.is(k, 'inputValue')) doc.inputValue = readRareStrings(json, v);
        else if (json.is(k, 'contentDocumentIndex')) doc.contentDocuments = readRareStrings(json, v);
        else return undefined;
        return json.end;
      });
    }
    if (json.is(key, 'layout')) {
      return json.object(value, (k, v) => {
        if (json.is(k, 'nodeIndex')) doc.layout.nodeIndex = json.ints(v);
        else if (json.is(k, 'bounds')) doc.layout.bounds = json.rows(v, 4);
        else if (json.is(k, 'styles')) {
          const { starts, values } = json.intLists(v);
          const style = new Int32Array(starts.length - 1).fill(-1);
          for (let i = 0; i + 1 < starts.length; i++) if ((starts[i + 1] as number) > (starts[i] as number)) style[i] = values[starts[i] as number] as number;
          doc.layout.style = style;
        } else return undefined;
        return json.end;
      });
    }
    return undefined;
  });
  return doc;
}

/** CDP's RareStringData and RareIntegerData: `{index: [node…], value: [string index or integer…]}`. */
function readRareStrings(json: JsonBytes, at: number): { index: Int32Array; value: Int32Array } {
  const out: { index: Int32Array; value: Int32Array } = { index: NONE, value: NONE };
  json.end = json.object(at, (key, v) => {
    if (json.is(key, 'index')) out.index = json.ints(v);
    else if (json.is(key, 'value')) out.value = json.ints(v);
    else return undefined;
    return json.end;
  });
  return out;
}
