/**
 * Training progress for the CLI: one cli-progress bar per action on a terminal (ETA, epoch,
 * loss, test SRCC), plain lines (one per epoch) when stderr is not a terminal, nothing when quiet.
 */
import { createRequire } from 'node:module';
import type { TrainEvent } from '../train/trainer.js';
import type { CliIO } from './io.js';

interface Bar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
type BarCtor = new (opts: Record<string, unknown>, preset?: unknown) => Bar;

function loadBar(): { SingleBar: BarCtor; Presets: Record<string, unknown> } | null {
  try {
    return createRequire(import.meta.url)('cli-progress') as { SingleBar: BarCtor; Presets: Record<string, unknown> };
  } catch {
    return null;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export class TrainProgress {
  private bar: Bar | null = null;
  private total = 0;
  private done = 0;
  private started = 0;
  private epochs = 0;
  private startEpoch = 1;
  private lastSrcc = '–';
  /** Which split the per-epoch SRCC is on ('val', 'TEST' under the paper's protocol, '' for a fixed budget). */
  private split = '';
  private readonly lib: ReturnType<typeof loadBar>;
  private readonly io: CliIO;
  private readonly quiet: boolean;
  private readonly prefix: string;

  constructor(io: CliIO, quiet = false, prefix = '') {
    this.io = io;
    this.quiet = quiet;
    this.prefix = prefix;
    this.lib = io.isTTY && !quiet ? loadBar() : null;
  }

  handle = (e: TrainEvent): void => {
    if (this.quiet) return;
    if (e.type === 'start') {
      this.epochs = e.epochs;
      this.startEpoch = e.startEpoch;
      this.total = Math.max(1, (e.epochs - e.startEpoch + 1) * e.stepsPerEpoch);
      this.done = 0;
      this.started = performance.now();
      this.lastSrcc = '–';
      const resumed = e.startEpoch > 1 ? `, resuming at epoch ${e.startEpoch}` : '';
      this.split = e.select === 'test' ? 'TEST' : e.select === 'validation' ? 'val' : '';
      const val = e.validationSize ? ` / ${e.validationSize} validation` : '';
      const how = e.select === 'test' ? " (epoch selected on the test split: the paper's protocol)" : e.select === 'last' ? ' (fixed budget: last epoch)' : '';
      this.io.stderr(`${this.prefix}[${e.action}] ${e.trainSize} train${val} / ${e.testSize} test samples, ${e.epochs} epochs × ${e.stepsPerEpoch} steps${how}${resumed}\n`);
      if (this.lib) {
        this.bar = new this.lib.SingleBar(
          {
            format: `${this.prefix}[{action}] {bar} {percentage}% | ETA {eta_formatted} | epoch {epoch}/{epochs} | loss {loss}${this.split ? ` | ${this.split} SRCC×100 {srcc}` : ''}`,
            stream: this.io.progressStream,
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 20,
            fps: 5,
          },
          this.lib.Presets.shades_classic,
        );
        this.bar.start(this.total, 0, { action: e.action, epoch: e.startEpoch, epochs: e.epochs, loss: '–', srcc: '–' });
      }
    } else if (e.type === 'step') {
      this.done++;
      this.bar?.update(this.done, { epoch: e.epoch, loss: e.loss.toFixed(3), srcc: this.lastSrcc });
    } else if (e.type === 'epoch') {
      const r = e.record;
      const m = r.validation ?? r.test;
      this.lastSrcc = m ? `${(m.srcc * 100).toFixed(1)}${m.srccDefined ? '' : '†'}` : '–';
      if (this.bar) {
        this.bar.update(this.done, { epoch: r.epoch, loss: r.loss.toFixed(3), srcc: this.lastSrcc });
      } else {
        const elapsed = (performance.now() - this.started) / 1000;
        const epochsDone = r.epoch - this.startEpoch + 1;
        const eta = (elapsed / epochsDone) * (this.epochs - r.epoch);
        const terms = [r.grade, r.vfs, r.vit].some((v) => v !== undefined)
          ? ` (grade ${fmt(r.grade)}, vfs ${fmt(r.vfs)}, vit ${fmt(r.vit)})`
          : '';
        this.io.stderr(
          `${this.prefix}[${e.action}] epoch ${r.epoch}/${this.epochs} loss ${r.loss.toFixed(3)}${terms}${m ? ` | ${this.split} SRCC×100 ${this.lastSrcc} rMSE ${m.relativeMSE.toFixed(3)} Acc ${m.accuracy.toFixed(1)}%${e.improved ? ' *best' : ''}` : ''} | ${r.seconds.toFixed(1)}s, ETA ${formatDuration(eta)}\n`,
        );
      }
    } else if (e.type === 'done') {
      this.bar?.stop();
      this.bar = null;
      this.io.stderr(`${this.prefix}[${e.action}] done in ${formatDuration((performance.now() - this.started) / 1000)}; ${this.split ? 'selected' : 'last'} epoch ${e.bestEpoch}\n`);
    }
  };

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function fmt(v: number | undefined): string {
  return v === undefined ? '–' : v.toFixed(3);
}

/** A simple counter bar / line printer for non-training loops (robustness evaluation). */
export function counterProgress(io: CliIO, quiet: boolean, label: string): { tick: (done: number, total: number, what: string) => void; stop: () => void } {
  if (quiet) return { tick: () => {}, stop: () => {} };
  const lib = io.isTTY ? loadBar() : null;
  let bar: Bar | null = null;
  let lastLine = -1;
  return {
    tick(done, total, what) {
      if (lib) {
        if (!bar) {
          bar = new lib.SingleBar({ format: `${label} {bar} {value}/{total} | ETA {eta_formatted} | {what}`, stream: io.progressStream, hideCursor: true }, lib.Presets.shades_classic);
          bar.start(total, 0, { what });
        }
        bar.update(done, { what });
        return;
      }
      const step = Math.max(1, Math.floor(total / 10));
      if (done === total || Math.floor(done / step) !== lastLine) {
        lastLine = Math.floor(done / step);
        io.stderr(`${label} ${done}/${total} (${what})\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
