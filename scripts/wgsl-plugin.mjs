// Loads wgsl/*.wgsl as a default-exported string, the same contract esbuild's text loader gives the build.
import { readFileSync } from 'node:fs';
export function wgslText() {
  return {
    name: 'wgsl-text',
    enforce: 'pre',
    load(id) {
      if (!id.endsWith('.wgsl')) return null;
      return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    },
  };
}
