// Pixel comparison of two PNG images (pngjs + pixelmatch), with an optional diff image.
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

export class ImageInputError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly expected: string,
  ) {
    super(message);
  }
}

export interface VisualDiff {
  diffPixels: number;
  ratio: number;
  width: number;
  height: number;
  diffPng?: Uint8Array;
}

export function compareImages(a: Uint8Array, b: Uint8Array, options: { threshold: number; diffImage: boolean; names: [string, string] }): VisualDiff {
  const first = decode(a, options.names[0]);
  const second = decode(b, options.names[1]);
  if (first.width !== second.width || first.height !== second.height) {
    throw new ImageInputError(
      `images differ in size: ${first.width}×${first.height} and ${second.width}×${second.height}`,
      options.names[1],
      `a PNG of ${first.width}×${first.height}`,
    );
  }
  const { width, height } = first;
  const diff = options.diffImage ? new PNG({ width, height }) : null;
  const diffPixels = pixelmatch(first.data, second.data, diff?.data, width, height, { threshold: options.threshold });
  const result: VisualDiff = { diffPixels, ratio: width * height ? diffPixels / (width * height) : 0, width, height };
  if (diff) result.diffPng = new Uint8Array(PNG.sync.write(diff));
  return result;
}

function decode(bytes: Uint8Array, path: string): PNG {
  try {
    return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new ImageInputError(`${path} is not a valid PNG: ${error instanceof Error ? error.message : String(error)}`, path, 'a base64 PNG image');
  }
}
