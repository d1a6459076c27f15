// WGSL sources are imported as text: esbuild's `text` loader in the build, a vite plugin in the tests.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
