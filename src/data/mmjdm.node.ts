/** Node entry point for the MM-JDM release reader (see mmjdm.ts for the layout). */
import { directoryFileSource } from './fileSource.node.js';
import { type MMJDMLoadOptions, parseMMJDMRelease } from './mmjdm.js';
import type { Dataset } from './types.js';

export function loadMMJDM(dir: string, options: MMJDMLoadOptions = {}): Dataset {
  return parseMMJDMRelease(directoryFileSource(dir), options);
}
