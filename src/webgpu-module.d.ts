declare module 'webgpu' {
  export function create(flags: string[]): unknown;
  export const globals: Record<string, unknown>;
}
