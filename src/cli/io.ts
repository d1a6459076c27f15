/** Where the CLI writes: real streams by default, buffers in tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars) or a pipe/file (plain lines). */
  isTTY: boolean;
  /** The stream progress bars draw on (only used when isTTY). */
  progressStream?: NodeJS.WriteStream;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    progressStream: process.stderr,
  };
}

/** Exit codes (documented in `dualalign --help`). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  data: 3,
  device: 4,
  interrupted: 130,
} as const;

/** An error with an exit code and a hint saying what to do about it. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}
