#!/usr/bin/env node
/**
 * `dualalign` — train, evaluate and use DualAlign from the command line.
 * Bundled to dist/cli.js by scripts/build.mjs; `main(argv, io)` is importable for tests.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { init, deviceInfo, shutdown, type BackendChoice } from '../gpu/init.js';
import { NoAdapterError } from '../gpu/errors.js';
import { formatFamily, selfTest, selfTestAdapter, selfTestVerdict, SELF_TEST_FAMILIES, type SelfTestFamily } from '../doctor/selfTest.js';
import { writePlainDataset } from '../data/plain.node.js';
import { decodeFeatureFile, FEATURE_EXTENSIONS } from '../data/plain.js';
import { nodeInflateRaw } from '../data/npy.node.js';
import { toFeatureArray } from '../data/dataset.js';
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { modalityNames, resolveConfig } from '../models/config.js';
import { PRESET_NAMES, RECIPE, type PresetName } from '../optim/presets.js';
import { SYNTHETIC_GENERATORS, type SyntheticGenerator } from '../data/synthetic.js';
import { evaluate, confusionMatrix } from '../train/evaluate.js';
import {
  alphaOf,
  loadRunModels,
  runExperiment,
  runLabelRobustness,
  runModalityRobustness,
  safeName,
  selectActions,
  PAPER_RATES,
  runSeedsExperiment,
} from '../train/experiment.js';
import { runAblation, selectVariants } from '../train/ablation.js';
import { DEFAULT_BASELINES, parseBaselines, type BaselineName } from '../train/baselineSuite.js';
import { crossValidate } from '../train/crossval.js';
import { kitByName, loadAnyCheckpoint, methodName } from '../train/kits.js';
import { actionSplit, describeSelection, findAction, InterruptedError, SELECTIONS, UnknownActionError, type Selection } from '../train/trainer.js';
import type { ModelKit } from '../train/types.js';
import { perActionTable, type ActionMetrics } from '../train/metrics.js';
import { averageMetrics, protocolNote, runTableMarkdown, seedsTableMarkdown, summarizeSeedRows, type RunSummary } from '../report/report.js';
import { writeJsonAtomic } from '../io/atomic.node.js';
import { CliError, EXIT, processIO, type CliIO } from './io.js';
import { describeLoad, loadDataset } from './data.js';
import { counterProgress, formatDuration, TrainProgress } from './progress.js';

// ---- option tables ----------------------------------------------------------------------------

type Opts = NonNullable<ParseArgsConfig['options']>;

const COMMON: Opts = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  backend: { type: 'string' },
  seed: { type: 'string' },
};

const DATA: Opts = {
  data: { type: 'string', short: 'd' },
  format: { type: 'string' },
  synthetic: { type: 'boolean' },
  generator: { type: 'string' },
  actions: { type: 'string', short: 'a' },
  scale: { type: 'string' },
  'frames-per-clip': { type: 'string' },
  'image-frames': { type: 'string' },
  frames: { type: 'string' },
};

const MODEL: Opts = {
  model: { type: 'string', short: 'm' },
  epochs: { type: 'string', short: 'e' },
  'batch-size': { type: 'string', short: 'b' },
  lr: { type: 'string' },
  preset: { type: 'string' },
  d1: { type: 'string' },
  d2: { type: 'string' },
  d3: { type: 'string' },
  heads: { type: 'string' },
  gcn: { type: 'string' },
  dropout: { type: 'string' },
  tau: { type: 'string' },
  'logit-scale': { type: 'string' },
  hidden: { type: 'string' },
  config: { type: 'string' },
  'max-grad-norm': { type: 'string' },
  'no-standardize': { type: 'boolean' },
  select: { type: 'string' },
  'validation-fraction': { type: 'string' },
};

const RUN: Opts = {
  out: { type: 'string', short: 'o' },
  name: { type: 'string' },
  resume: { type: 'boolean' },
  'no-baselines': { type: 'boolean' },
  baselines: { type: 'string' },
  seeds: { type: 'string' },
  'no-plots': { type: 'boolean' },
};

const EXIT_HELP = `Exit codes: 0 ok, 1 unexpected failure, 2 usage error (unknown command, option or action),
3 data error (missing folder, corrupt or mis-shaped file, corrupt checkpoint), 4 no WebGPU device, 130 interrupted.`;

const DATA_HELP = `Data (one of):
  --data, -d <folder>     a dataset folder: plain layout (manifest.csv + <modality>/<id>.npy; write one
                          with 'dualalign synth'), an MM-JDM release (label.csv) or UI-PRMD (correct/, incorrect/)
  --synthetic             generate the synthetic MM-JDM in memory (--seed, --scale, --frames-per-clip,
                          --image-frames as for 'dualalign synth'; the demo uses --scale 0.75
                          --frames-per-clip 2 --image-frames 16)
  --generator <v2|v1>     synthetic generator: v2 (default; the grade in cross-modal timing) or v1 (in
                          per-frame swings; src/data/synthetic.ts, README 'Data')
  --format <f>            auto (default), plain, mmjdm, uiprmd
  --actions, -a <list>    action ids or names, comma-separated (default: all); with --synthetic a plain
                          number n (no leading zero: 3, not 03) takes the first n actions
  --frames <n>            UI-PRMD: resample each repetition to n frames (default 100)`;

const MODEL_HELP = `Model and optimisation (the 'recipe' preset is the default; --preset paper gives §5.1's settings):
  --model, -m <name>      dualalign (default), mlp (pooled-feature MLP) or tcn (temporal conv net on the
                          anchor stream)
  --epochs, -e <n>        epochs per action (default 30)
  --batch-size, -b <n>    default 8
  --preset <p>            recipe (default: AdamW lr 2e-3, 10 % warm-up + cosine, and the model settings of
                          src/optim/presets.ts RECIPE: ETF logit scale 10, λ 0.1, ordinal smoothing, time-aware
                          fusion and pooling), paper (SGD lr 1e-2, momentum 0.9, wd 1e-4, cosine; dropout 0.5,
                          τ 0.1, the paper's model) or reference-code (Adam lr 1e-4, warm-up + cosine)
  --lr <x>                override the preset's learning rate
  --d1, --d2, --d3 <n>    DualAlign feature sizes (paper 1024, 512, 512)
  --heads <n>             attention heads (paper 8)
  --gcn <a,b,c>           skeleton graph-convolution widths (default 64,128,256)
  --dropout <p>, --tau <t>, --logit-scale <s>
  --config <file.json>    any other DualAlign config fields (alignment, fusionMode, modalityDropout, ...)
  --hidden <a,b>          mlp hidden sizes (default 64)
  --max-grad-norm <x>     clip gradients
  --no-standardize        feed the raw features (default: each feature channel of video, flow, CLIP image
                          and text standardised with the training set's mean and std, stored in the checkpoint)

Model selection (the test split is never used to choose anything unless --select test):
  --select <s>            validation (default): the epoch with the best SRCC on a validation split carved
                          from the training samples (stratified by grade, seeded), test evaluated once;
                          last: a fixed epoch budget, the last epoch tested once;
                          test: the paper's protocol (best epoch on the TEST split) — optimistic, and every
                          table and metrics.json it produces says so
  --validation-fraction <f>  share of the training samples held out for validation (default 0.2)`;

const COMMANDS: Record<string, { summary: string; options: Opts; help: string }> = {
  synth: {
    summary: 'write the synthetic MM-JDM in the plain layout',
    options: { out: { type: 'string', short: 'o' }, actions: { type: 'string', short: 'a' }, scale: { type: 'string' }, 'samples-per-action': { type: 'string' }, 'frames-per-clip': { type: 'string' }, 'image-frames': { type: 'string' }, 'split-by': { type: 'string' }, generator: { type: 'string' } },
    help: `Usage: dualalign synth --out <folder> [options]

Generates the synthetic stand-in for MM-JDM (12 actions, Table 2's grade ranges, five modalities with
MM-JDM's feature layout; see src/data/synthetic.ts) and writes it as manifest.csv + <modality>/<id>.npy.

  --out, -o <folder>          where to write (created; existing files are overwritten)
  --seed <n>                  default 0
  --actions, -a <n|list>      first n actions (3), or ids/names (01,02 or 'Head Lift'; default all 12)
  --scale <x>                 share of Table 2's sample counts (default 0.25)
  --samples-per-action <n>    fixed count instead of --scale
  --frames-per-clip <n>       skeleton frames per clip (default 16; 10 clips)
  --image-frames <n>          CLIP image frames (default 103)
  --split-by <sample|subject> test split stratified by grade (default) or by held-out subjects
  --generator <v2|v1>         v2 (default): the grade in limb-trunk timing across modalities; v1: in per-frame swings`,
  },
  train: {
    summary: 'train one model per action; writes runs/<name>/',
    options: { ...DATA, ...MODEL, ...RUN, folds: { type: 'string' }, 'missing-labels': { type: 'string' }, profile: { type: 'boolean' } },
    help: `Usage: dualalign train (--data <folder> | --synthetic) [options]

Trains an action-specific model for each action (§5.1) on its training split, chooses the epoch on a
validation split carved from it (see --select) and evaluates the test split once. Baselines on the same
splits: constant, ridge on the mean and std over time of every modality, pooled MLP, temporal CNN on the
anchor stream. Writes runs/<name>/: config.json, metrics.json,
table.md (Table 3 form: SRCC×100, rMSE, Acc per action and averaged, with α of Eq. 20), plots/
(training curves, predicted vs true, confusion; SVG + PNG) and checkpoints/<action>/{best,last}.ckpt.

${DATA_HELP}

${MODEL_HELP}

Run:
  --out, -o <folder>      results folder (default runs/<name>)
  --name <name>           run name (default train-<date>)
  --resume                continue each action from its last.ckpt in the results folder
  --folds <k>             subject-wise k-fold cross-validation instead of the data's split (UI-PRMD)
  --missing-labels <r>    hide this share of training labels (Fig. 15 setting)
  --profile               profile the run: profile.txt (per kernel: calls, GPU and host time, share),
                          profile.json and trace.json (Chrome trace: Perfetto, chrome://tracing)
  --no-baselines          leave out the baseline rows
  --baselines <list>      which: constant, ridge (mean+std), ridge-mean, mlp, tcn (default constant,ridge,mlp,tcn)
  --seeds <n>             repeat the run (or the cross-validation) over seeds seed..seed+n-1 and report
                          mean ± std per method (runs/<name>/seed-<s>/, table.md, metrics.json with the
                          time of each seed)
  --no-plots              skip the figures
  --seed <n>              default 0 (same seed + same adapter = same metrics)
  --json                  print the results as JSON on stdout (progress stays on stderr)
  --quiet, -q             no progress output
  --backend <b>           webgpu, webgpu-compat or cpu (default: DUALALIGN_BACKEND or the best found)`,
  },
  eval: {
    summary: "evaluate a run's checkpoints (or one checkpoint) on a dataset",
    options: { ...DATA, run: { type: 'string', short: 'r' }, checkpoint: { type: 'string', short: 'c' }, 'missing-modality': { type: 'string' } },
    help: `Usage: dualalign eval (--run <runs/name> | --checkpoint <file.ckpt>) (--data <folder> | --synthetic) [options]

Evaluates on each action's test split and prints the per-action table (SRCC×100, rMSE, Acc).
  --run, -r <folder>          a results folder from 'dualalign train' (uses checkpoints/<action>/best.ckpt)
  --checkpoint, -c <file>     a single checkpoint (its action is read from the file, or pass --actions)
  --missing-modality <rate>   remove every modality but the anchor from this share of test samples
${DATA_HELP}
  --json, --seed, --backend as for train`,
  },
  predict: {
    summary: "grade one sample: grade, probability of each grade, modalities present",
    options: { checkpoint: { type: 'string', short: 'c' }, sample: { type: 'string', short: 's' }, data: { type: 'string', short: 'd' }, format: { type: 'string' }, id: { type: 'string' }, synthetic: { type: 'boolean' }, scale: { type: 'string' }, 'frames-per-clip': { type: 'string' }, 'image-frames': { type: 'string' }, actions: { type: 'string', short: 'a' }, frames: { type: 'string' } },
    help: `Usage: dualalign predict --checkpoint <file.ckpt> (--sample <folder> | --data <folder> --id <sample id>)

  --checkpoint, -c <file>   a checkpoint from 'dualalign train' (runs/<name>/checkpoints/<action>/best.ckpt)
  --sample, -s <folder>     one sample's features: <modality>.npy (or .npz / .safetensors) per modality,
                            e.g. video.npy [10, 768], flow.npy, skeleton.npy [T, 26, 3], image.npy, text.npy [512];
                            a missing file = a missing modality (the anchor, video, is required)
  --data <folder> --id <id> a sample of a dataset folder instead (--synthetic --id <id> also works)
  --json                    machine-readable output`,
  },
  robustness: {
    summary: 'missing-modality (Fig. 14) or missing-label (Fig. 15) experiment: table + plot',
    options: { ...DATA, ...MODEL, ...RUN, mode: { type: 'string' }, from: { type: 'string' }, rates: { type: 'string' }, repeats: { type: 'string' }, keep: { type: 'string' } },
    help: `Usage: dualalign robustness --mode <modality|label> (--data <folder> | --synthetic) [options]

  --mode modality   models trained with every modality are evaluated with modalities removed at inference
                    from a share of the test samples (rates 0, .1, .3, .5, .7, .9; video always kept) — Fig. 14.
                    Uses the checkpoints of --from <runs/name>, or trains first (options as for train).
  --mode label      for each rate a fresh model per action is trained with that share of training labels
                    hidden — Fig. 15.
  --rates <list>    default 0,0.1,0.3,0.5,0.7,0.9
  --repeats <n>     modality mode: random draws averaged per rate (default 3)
  --keep <name>     modality never removed (default video)
  --from <folder>   modality mode: a results folder from 'dualalign train'
Writes <out>/robustness-<mode>.json, .md and plots/robustness-<mode>.svg/.png.

${DATA_HELP}

${MODEL_HELP}`,
  },
  ablate: {
    summary: 'ablations of Table 6 (alignment variants, each modality removed): mean ± std over seeds, table + plot',
    options: { ...DATA, ...MODEL, ...RUN, demo: { type: 'boolean' }, full: { type: 'boolean' }, variants: { type: 'string' } },
    help: `Usage: dualalign ablate [--demo | --data <folder> | --synthetic] [--seeds n] [options]

Trains DualAlign once per variant (and seed) with the same budget and model selection, and writes
<out>/ablation.md, ablation.json and plots/ablation.svg/.png: average SRCC×100, rMSE and accuracy over the
actions, mean ± std over seeds, the change against the full model, and the paper's Table 6 value beside it.

Variants (default: all of Table 6):
  full              two-stage GRAM alignment (the model as configured)
  no-alignment      λ terms off                      cosine          cosine similarity instead of GRAM
  one-stage-gram    GRAM over all modalities at once vfs-only        L_vfs only (w/o L_vit)
  vit-only          L_vit only (w/o L_vfs)           without-<m>     modality m removed (each modality)
  on request (Fig. 9): fusion-concat, fusion-add, fusion-cross-attention, text-first
  --variants <list> run only these (comma-separated names)

Data: --demo (default when no data is given): the demo's synthetic data and reduced sizes, regenerated per
seed (--epochs, --actions, --scale, --full as for demo); or --data / --synthetic with the train options.
  --seeds <n>       seeds seed..seed+n-1 (default 1)
  --select <s>      validation (default), last or test (the paper's protocol, labelled)

${DATA_HELP}

${MODEL_HELP}`,
  },
  info: {
    summary: 'the WebGPU adapter, its features and limits',
    options: {},
    help: `Usage: dualalign info [--json] [--backend <b>]

Initialises the device and prints the adapter (vendor, architecture, description), feature level,
features and limits.`,
  },
  doctor: {
    summary: 'check every kernel family on this adapter against the CPU float64 reference',
    options: { family: { type: 'string' } },
    help: `Usage: dualalign doctor [--json] [--backend <b>] [--family <list>]

Runs every kernel family (elementwise incl. vec4 and broadcast, reductions incl. row kernels,
softmax / logSoftmax, layerNorm forward and backward, matmul, indexSelect / scatter, random,
Gram / contrastive, attention forward and backward, the fused optimizer, fuse()) at a few shapes,
including odd sizes and grids past 65,535 workgroups, on the adapter init() picks (or --backend),
against the CPU float64 reference, and prints pass / fail per family with the worst error and its
tolerance (under a minute on lavapipe). A failure is printed with the adapter's description: please
report it. The same check from code: selfTest().

  --family <list>   only these families, comma-separated (${SELF_TEST_FAMILIES.join(', ')})

Exit code 0 when every family passes, 1 when one fails.`,
  },
  bench: {
    summary: 'run the benchmarks (bench/run.mjs; arguments are passed on)',
    options: {},
    help: `Usage: dualalign bench [args...]

Runs 'node bench/run.mjs' with the given arguments (e.g. --quick) from the package root.`,
  },
  demo: {
    summary: 'synthetic MM-JDM (3 actions), DualAlign per action, per-action table — a few minutes on a CPU',
    options: {
      epochs: { type: 'string', short: 'e' },
      full: { type: 'boolean' },
      out: { type: 'string', short: 'o' },
      actions: { type: 'string', short: 'a' },
      model: { type: 'string', short: 'm' },
      scale: { type: 'string' },
      seeds: { type: 'string' },
      select: { type: 'string' },
      'validation-fraction': { type: 'string' },
      baselines: { type: 'string' },
      'no-baselines': { type: 'boolean' },
      generator: { type: 'string' },
    },
    help: `Usage: dualalign demo [--epochs n] [--full] [--out folder] [--json]

Generates the synthetic MM-JDM (first 3 actions), trains DualAlign on each action on the WebGPU device
with progress bars and prints the per-action table (SRCC×100, rMSE, Acc) next to the baselines on the
same splits (constant, ridge on mean+std over time, pooled MLP, temporal CNN on the video stream). The
epoch is chosen on a validation split carved from the training samples; the test split is evaluated once. To finish in minutes on a 2-core machine without a GPU it uses reduced sizes (printed at the
start): D1 64, D2/D3 32, 4 heads, GCN 16-16, skeleton 20 frames, 16 CLIP frames, 3/4 of Table 2's
samples, 15 epochs, and the 'recipe' preset (src/optim/presets.ts: AdamW lr 2e-3 with a 10 % warm-up,
ETF logit scale 10, λ 0.1, time-aware fusion and pooling) instead of the paper's SGD and model settings.
  --full              the paper's sizes and optimizer (D1 1024, D2 512, D3 512, 8 heads, GCN 64-128-256,
                      160 skeleton frames, 103 CLIP frames, all samples, SGD lr 1e-2; slow without a GPU)
  --epochs, -e <n>    epochs per action
  --actions, -a <n>   number of actions (default 3)
  --out, -o <folder>  results folder (default runs/demo)
  --model mlp|tcn     the pooled-feature MLP or the temporal CNN instead of DualAlign
  --seeds <n>         repeat over n seeds (data, split, init; seed..seed+n-1): mean ± std per method
  --select <s>        validation (default), last (fixed budget) or test (the paper's protocol, labelled)
  --baselines <list>, --no-baselines   as for train
  --generator v1      the first synthetic generator (default v2)`,
  },
};

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `dualalign — DualAlign multi-modal action quality assessment on WebGPU

Usage: dualalign <command> [options]     (dualalign <command> --help for its options)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Quick start:
  dualalign demo
  dualalign synth --out data/synth && dualalign train --data data/synth --actions 01,02 --epochs 20
  dualalign predict --checkpoint runs/<name>/checkpoints/01/best.ckpt --data data/synth --id JDM01_0001

${EXIT_HELP}
`;
}

// ---- small parsers ----------------------------------------------------------------------------

function num(v: unknown, flag: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = opts.min !== undefined || opts.max !== undefined ? ` in [${opts.min ?? '-∞'}, ${opts.max ?? '∞'}]` : '';
    throw new CliError(`--${flag} must be ${opts.int ? 'an integer' : 'a number'}${range}, got '${String(v)}'`, EXIT.usage);
  }
  return n;
}

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function numList(v: unknown, flag: string): number[] | undefined {
  return list(v)?.map((s) => num(s, flag)!);
}

type Values = Record<string, string | boolean | undefined>;

function parse(command: string, argv: string[]): Values {
  const spec = COMMANDS[command]!;
  try {
    const { values } = parseArgs({ args: argv, options: { ...COMMON, ...spec.options }, strict: true, allowPositionals: false });
    return values as Values;
  } catch (error) {
    throw new CliError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`, EXIT.usage, `see: dualalign ${command} --help`);
  }
}

function seedOf(v: Values): number {
  return num(v.seed, 'seed', { int: true, min: 0 }) ?? 0;
}

function modelOverrides(v: Values): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) o[key] = value;
  };
  set('d1', num(v.d1, 'd1', { int: true, min: 1 }));
  set('d2', num(v.d2, 'd2', { int: true, min: 1 }));
  set('d3', num(v.d3, 'd3', { int: true, min: 1 }));
  set('heads', num(v.heads, 'heads', { int: true, min: 1 }));
  set('gcnChannels', numList(v.gcn, 'gcn'));
  set('dropout', num(v.dropout, 'dropout', { min: 0, max: 0.99 }));
  set('tau', num(v.tau, 'tau', { min: 1e-6 }));
  set('logitScale', num(v['logit-scale'], 'logit-scale', { min: 1e-6 }));
  set('hidden', numList(v.hidden, 'hidden'));
  if (v['no-standardize']) o.standardize = false;
  if (v.config !== undefined) {
    const path = resolve(String(v.config));
    if (!existsSync(path)) throw new CliError(`--config file not found: ${path}`, EXIT.data);
    try {
      o.config = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new CliError(`--config ${path} is not valid JSON: ${(error as Error).message}`, EXIT.data);
    }
  }
  return o;
}

function kitOf(v: Values): ModelKit {
  const name = String(v.model ?? 'dualalign');
  try {
    return kitByName(name);
  } catch {
    throw new CliError(`unknown --model '${name}'`, EXIT.usage, 'use dualalign, mlp or tcn');
  }
}

function presetOf(v: Values): PresetName {
  const p = String(v.preset ?? 'recipe') as PresetName;
  if (!PRESET_NAMES.includes(p)) throw new CliError(`unknown --preset '${p}'`, EXIT.usage, `use ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** The model settings that go with a preset: the recipe's for DualAlign, none otherwise. */
function presetModel(preset: PresetName, kit: ModelKit): Record<string, unknown> {
  return preset === 'recipe' && kit.name === 'dualalign' ? { ...RECIPE.model } : {};
}

function generatorOf(v: Values): SyntheticGenerator {
  const g = String(v.generator ?? 'v2') as SyntheticGenerator;
  if (!SYNTHETIC_GENERATORS.includes(g)) throw new CliError(`unknown --generator '${g}'`, EXIT.usage, `use ${SYNTHETIC_GENERATORS.join(' or ')}`);
  return g;
}

async function initDevice(v: Values): Promise<void> {
  const backend = v.backend as BackendChoice | undefined;
  if (backend !== undefined && !['webgpu', 'webgpu-compat', 'cpu'].includes(backend)) throw new CliError(`unknown --backend '${backend}'`, EXIT.usage, 'use webgpu, webgpu-compat or cpu');
  await init(backend ? { backend } : {});
}

function dataArgs(v: Values) {
  const keys = list(v.actions);
  // --synthetic --actions 3: the first three actions; otherwise ids or names.
  const count = v.synthetic && keys && keys.length === 1 && /^[1-9]\d*$/.test(keys[0]!) ? Number(keys[0]) : undefined;
  return {
    data: v.data as string | undefined,
    format: v.format as string | undefined,
    synthetic: Boolean(v.synthetic),
    seed: seedOf(v),
    actions: count ?? keys,
    frames: num(v.frames, 'frames', { int: true, min: 2 }),
    synth: {
      generator: generatorOf(v),
      ...(v.scale !== undefined ? { scale: num(v.scale, 'scale', { min: 0.001 }) } : {}),
      ...(v['frames-per-clip'] !== undefined ? { framesPerClip: num(v['frames-per-clip'], 'frames-per-clip', { int: true, min: 1 }) } : {}),
      ...(v['image-frames'] !== undefined ? { imageFrames: num(v['image-frames'], 'image-frames', { int: true, min: 1 }) } : {}),
    },
  };
}

/** Action keys for selectActions: with --synthetic N the generator already picked them. */
function actionKeys(v: Values, dataset: Dataset): string[] | undefined {
  const keys = list(v.actions);
  if (!keys) return undefined;
  if (v.synthetic && keys.length === 1 && /^[1-9]\d*$/.test(keys[0]!)) return dataset.actions.map((a) => a.id);
  return keys;
}

function runName(v: Values, prefix: string): { name: string; dir: string } {
  if (v.out) {
    const dir = resolve(String(v.out));
    return { name: String(v.name ?? basename(dir)), dir };
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const name = String(v.name ?? `${prefix}-${stamp}`);
  return { name, dir: resolve('runs', safeName(name)) };
}

function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, io: CliIO): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  const onSigint = (): void => {
    count++;
    if (count === 1) {
      io.stderr('\ninterrupt: stopping after the current step (the last saved checkpoints stay valid); press Ctrl-C again to quit now\n');
      controller.abort();
    } else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  return fn(controller.signal).finally(() => process.off('SIGINT', onSigint));
}

function metricsJson(m: ActionMetrics) {
  return { srcc: m.srcc, srccDefined: m.srccDefined ?? true, relativeMSE: m.relativeMSE, accuracy: m.accuracy, n: m.n };
}

function summaryJson(summary: RunSummary, runDir: string, files: string[]) {
  return {
    name: summary.name,
    runDir,
    model: summary.model,
    optimizer: summary.optimizer,
    select: summary.select,
    protocol: summary.protocol,
    actions: summary.actions.map((a) => ({
      id: a.action.id,
      name: a.action.name,
      alpha: a.alpha,
      trainSize: a.trainSize,
      testSize: a.testSize,
      bestEpoch: a.bestEpoch,
      ...metricsJson(a.metrics),
      srccScore: a.srccScore,
      baselines: (a.baselines ?? []).map((b) => ({ method: b.method, ...metricsJson(b) })),
      checkpoint: join(runDir, 'checkpoints', safeName(a.action.id), 'best.ckpt'),
    })),
    // Training time per action: the model, and each trained baseline.
    secondsPerAction: Object.fromEntries(summary.actions.map((a) => [a.action.id, { model: a.seconds, ...(a.baselineSeconds ?? {}) }])),
    average: summary.average,
    seconds: summary.seconds,
    files,
  };
}

// ---- commands ---------------------------------------------------------------------------------

async function cmdSynth(v: Values, io: CliIO): Promise<number> {
  if (!v.out) throw new CliError('synth needs --out <folder>', EXIT.usage, 'e.g. dualalign synth --out data/synth');
  const actions = list(v.actions);
  const t0 = performance.now();
  const dataset = (await import('../data/synthetic.js')).generateSyntheticMMJDM({
    seed: seedOf(v),
    generator: generatorOf(v),
    ...(actions ? { actions: actions.length === 1 && /^[1-9]\d*$/.test(actions[0]!) ? Number(actions[0]) : actions } : {}),
    ...(v.scale !== undefined ? { scale: num(v.scale, 'scale', { min: 0.001 }) } : {}),
    ...(v['samples-per-action'] !== undefined ? { samplesPerAction: num(v['samples-per-action'], 'samples-per-action', { int: true, min: 2 }) } : {}),
    ...(v['frames-per-clip'] !== undefined ? { framesPerClip: num(v['frames-per-clip'], 'frames-per-clip', { int: true, min: 1 }) } : {}),
    ...(v['image-frames'] !== undefined ? { imageFrames: num(v['image-frames'], 'image-frames', { int: true, min: 1 }) } : {}),
    ...(v['split-by'] !== undefined ? { splitBy: String(v['split-by']) as 'sample' | 'subject' } : {}),
  });
  const out = resolve(String(v.out));
  writePlainDataset(out, dataset);
  const result = { out, samples: dataset.samples.length, perAction: dataset.summary.perAction, modalities: dataset.modalities, seconds: (performance.now() - t0) / 1000 };
  if (v.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(`wrote ${result.samples} samples (${Object.entries(result.perAction).map(([a, n]) => `${a}: ${n}`).join(', ')}) with ${dataset.modalities.join(', ')} to ${out}\n`);
  return EXIT.ok;
}

interface TrainSettings {
  kit: ModelKit;
  epochs: number;
  batchSize: number;
  preset: PresetName;
  lr?: number;
  maxGradNorm?: number;
  overrides: Record<string, unknown>;
  select: Selection;
  validationFraction?: number;
}

function selectOf(v: Values): Selection {
  const sel = String(v.select ?? 'validation');
  if (!(SELECTIONS as readonly string[]).includes(sel)) throw new CliError(`unknown --select '${sel}'`, EXIT.usage, `use ${SELECTIONS.join(', ')}`);
  return sel as Selection;
}

function validationFractionOf(v: Values): number | undefined {
  return num(v['validation-fraction'], 'validation-fraction', { min: 0.01, max: 0.9 });
}

/** The seeds of --seeds n: seed, seed+1, ..., seed+n-1. */
function seedsOf(v: Values): number[] {
  const n = num(v.seeds, 'seeds', { int: true, min: 1, max: 100 }) ?? 1;
  const s0 = seedOf(v);
  return Array.from({ length: n }, (_, i) => s0 + i);
}

function baselinesOf(v: Values): readonly BaselineName[] | false {
  if (v['no-baselines']) return false;
  if (v.baselines === undefined) return DEFAULT_BASELINES;
  const names = list(v.baselines) ?? [];
  if (names.length === 1 && names[0] === 'none') return false;
  try {
    return parseBaselines(names);
  } catch (error) {
    throw new CliError(`--baselines: ${(error as Error).message}`, EXIT.usage);
  }
}

function trainSettings(v: Values, defaults: { epochs?: number; overrides?: Record<string, unknown> } = {}): TrainSettings {
  const kit = kitOf(v);
  const preset = presetOf(v);
  return {
    kit,
    epochs: num(v.epochs, 'epochs', { int: true, min: 1 }) ?? defaults.epochs ?? 30,
    batchSize: num(v['batch-size'], 'batch-size', { int: true, min: 1 }) ?? 8,
    preset,
    lr: num(v.lr, 'lr', { min: 0 }),
    maxGradNorm: num(v['max-grad-norm'], 'max-grad-norm', { min: 0 }),
    overrides: { ...presetModel(preset, kit), ...(defaults.overrides ?? {}), ...modelOverrides(v) },
    select: selectOf(v),
    validationFraction: validationFractionOf(v),
  };
}

/** The options every training run of the CLI shares (train, robustness): run folder, data, fitting. */
function runOptions(v: Values, dataset: Dataset, s: TrainSettings, run: { name: string; dir: string }) {
  return { name: run.name, runDir: run.dir, dataset, actions: actionKeys(v, dataset), ...fitOptions(v, s) };
}

/** How each model is fitted (train, robustness, cross-validation). */
function fitOptions(v: Values, s: TrainSettings) {
  return { kit: s.kit, epochs: s.epochs, batchSize: s.batchSize, seed: seedOf(v), preset: s.preset, lr: s.lr, modelOverrides: s.overrides, select: s.select, validationFraction: s.validationFraction };
}

function experimentOptions(v: Values, io: CliIO, dataset: Dataset, source: string, s: TrainSettings, run: { name: string; dir: string }, extraConfig: Record<string, unknown>) {
  return {
    ...runOptions(v, dataset, s, run),
    resume: Boolean(v.resume),
    baselines: baselinesOf(v),
    plots: !v['no-plots'],
    missingLabelRate: num(v['missing-labels'], 'missing-labels', { min: 0, max: 0.99 }),
    configRecord: { data: source, device: deviceInfo().description, backend: deviceInfo().backend, command: process.argv.slice(2).join(' '), ...extraConfig },
    log: (m: string) => io.stderr(`${m}\n`),
  };
}

async function trainRun(v: Values, io: CliIO, dataset: Dataset, source: string, s: TrainSettings, run: { name: string; dir: string }, extraConfig: Record<string, unknown> = {}, keepModels = false) {
  const progress = new TrainProgress(io, Boolean(v.quiet));
  try {
    return await withInterrupt((signal) => runExperiment({ ...experimentOptions(v, io, dataset, source, s, run, extraConfig), keepModels, onEvent: progress.handle, signal }), io);
  } finally {
    progress.stop();
  }
}

/** --seeds n: the whole run per seed (the data too, when `datasetFor` regenerates it), mean ± std per method. */
async function trainSeeds(v: Values, io: CliIO, dataset: Dataset, source: string, s: TrainSettings, run: { name: string; dir: string }, seeds: number[], datasetFor?: (seed: number) => Dataset, extraConfig: Record<string, unknown> = {}) {
  const progress = new TrainProgress(io, Boolean(v.quiet));
  try {
    return await withInterrupt(
      (signal) =>
        runSeedsExperiment({
          ...experimentOptions(v, io, dataset, source, s, run, extraConfig),
          seeds,
          datasetFor,
          onEvent: progress.handle,
          signal,
          onSeed: (seed, i) => {
            if (!v.quiet) io.stderr(`— seed ${seed} (${i + 1}/${seeds.length})\n`);
          },
        }),
      io,
    );
  } finally {
    progress.stop();
  }
}

async function cmdTrain(v: Values, io: CliIO): Promise<number> {
  const { dataset, source } = loadDataset(dataArgs(v));
  await initDevice(v);
  const s = trainSettings(v);
  if (v.folds !== undefined) return cmdCrossValidate(v, io, dataset, s);
  const run = runName(v, 'train');
  if (!v.quiet) io.stderr(`${describeLoad(dataset, source)}results: ${run.dir}\n`);
  const seeds = seedsOf(v);
  if (seeds.length > 1) {
    const { summary, files } = await trainSeeds(v, io, dataset, source, s, run, seeds);
    if (v.json) io.stdout(`${JSON.stringify({ ...summary, runDir: run.dir, files }, null, 2)}\n`);
    else io.stdout(`\n${seedsTableMarkdown(summary)}\nresults in ${run.dir}\n`);
    return EXIT.ok;
  }
  const { summary, files } = v.profile ? await profiledTrainRun(v, io, dataset, source, s, run) : await trainRun(v, io, dataset, source, s, run);
  if (v.json) io.stdout(`${JSON.stringify(summaryJson(summary, run.dir, files), null, 2)}\n`);
  else io.stdout(`\n${runTableMarkdown(summary)}\nresults in ${run.dir} (${formatDuration(summary.seconds)})\n`);
  return EXIT.ok;
}

/** trainRun under profile(): the per-kernel table and the Chrome trace go into the run folder. */
async function profiledTrainRun(v: Values, io: CliIO, dataset: Dataset, source: string, s: TrainSettings, run: { name: string; dir: string }) {
  const { profile } = await import('../gpu/profile.js');
  const { writeFileAtomic } = await import('../io/atomic.node.js');
  const p = await profile(() => trainRun(v, io, dataset, source, s, run));
  writeFileAtomic(join(run.dir, 'profile.txt'), `${p.table(60)}\n`);
  writeJsonAtomic(join(run.dir, 'profile.json'), { dispatches: p.dispatches, wallMs: p.wallMs, gpuMs: p.gpuMs, rows: p.rows });
  writeFileAtomic(join(run.dir, 'trace.json'), JSON.stringify(p.trace()));
  if (!v.quiet) io.stderr(`profile: ${join(run.dir, 'profile.txt')}, trace: ${join(run.dir, 'trace.json')}\n${p.table(12)}\n`);
  return p.result;
}

async function cmdCrossValidate(v: Values, io: CliIO, dataset: Dataset, s: TrainSettings): Promise<number> {
  const folds = num(v.folds, 'folds', { int: true, min: 2 })!;
  const actions = selectActions(dataset, actionKeys(v, dataset));
  const run = runName(v, 'cv');
  const seeds = seedsOf(v);
  const baselines = baselinesOf(v);
  const progress = new TrainProgress(io, Boolean(v.quiet));
  const protocol = describeSelection(s.select, s.validationFraction);
  const note = protocolNote(methodName(s.kit), s.select, protocol);
  const perSeed: Array<{ seed: number; rows: ActionMetrics[]; actions: unknown[]; seconds: number }> = [];
  try {
    for (const seed of seeds) {
      const t0 = performance.now();
      if (seeds.length > 1 && !v.quiet) io.stderr(`— seed ${seed}\n`);
      const rows: ActionMetrics[] = [];
      const out: unknown[] = [];
      for (const action of actions) {
        const r = await withInterrupt(
          (signal) =>
            crossValidate({
              ...fitOptions(v, s),
              seed,
              dataset,
              action: action.id,
              folds,
              baselines: baselines || [],
              log: (m) => io.stderr(`${m}\n`),
              onEvent: progress.handle,
              signal,
              onFold: (fold, subjects) => {
                if (!v.quiet) io.stderr(`[${action.id}] fold ${fold + 1}/${folds}: test subjects ${subjects.join(', ')}\n`);
              },
            }),
          io,
        );
        rows.push({ ...r.metrics, method: methodName(s.kit) }, ...r.baselineMetrics);
        out.push({
          id: action.id,
          name: action.name,
          ...metricsJson(r.metrics),
          srccScore: r.srccScore,
          baselines: r.baselineMetrics.map((b) => ({ method: b.method, ...metricsJson(b) })),
          folds: r.folds.map((f) => ({ fold: f.fold, testSubjects: f.testSubjects, bestEpoch: f.bestEpoch, ...metricsJson(f.metrics) })),
        });
      }
      perSeed.push({ seed, rows, actions: out, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    progress.stop();
  }
  const { writeFileAtomic } = await import('../io/atomic.node.js');
  const title = `# ${run.name}: subject-wise ${folds}-fold cross-validation\n\n`;
  const footer = `Pooled out-of-fold predictions; model selection inside the training folds. ${note}\n`;
  if (seeds.length > 1) {
    const summary = summarizeSeedRows(run.name, perSeed.map((p) => ({ actions, rows: p.rows, seconds: p.seconds })), seeds, { select: s.select, protocol, model: s.kit.name });
    const result = { ...summary, folds, perSeed: perSeed.map((p) => ({ seed: p.seed, seconds: p.seconds, actions: p.actions })) };
    writeJsonAtomic(join(run.dir, 'metrics.json'), result);
    const table = seedsTableMarkdown(summary);
    writeFileAtomic(join(run.dir, 'table.md'), `${title}${table}\n${footer}`);
    if (v.json) io.stdout(`${JSON.stringify({ ...result, runDir: run.dir }, null, 2)}\n`);
    else io.stdout(`\nSubject-wise ${folds}-fold cross-validation (pooled out-of-fold predictions):\n\n${table}\nresults in ${run.dir}\n`);
    return EXIT.ok;
  }
  const { rows, actions: out, seconds } = perSeed[0]!;
  const table = perActionTable(rows);
  const model = rows.filter((r) => r.method === methodName(s.kit));
  const result = { name: run.name, folds, select: s.select, protocol, actions: out, average: averageMetrics(model), seconds };
  writeJsonAtomic(join(run.dir, 'metrics.json'), result);
  writeFileAtomic(join(run.dir, 'table.md'), `${title}${table}\n${footer}`);
  if (v.json) io.stdout(`${JSON.stringify({ ...result, runDir: run.dir }, null, 2)}\n`);
  else io.stdout(`\nSubject-wise ${folds}-fold cross-validation (pooled out-of-fold predictions):\n\n${table}\n${note}\nresults in ${run.dir}\n`);
  return EXIT.ok;
}

async function cmdEval(v: Values, io: CliIO): Promise<number> {
  if (!v.run && !v.checkpoint) throw new CliError('eval needs --run <results folder> or --checkpoint <file>', EXIT.usage, 'see: dualalign eval --help');
  const { dataset } = loadDataset(dataArgs(v));
  await initDevice(v);
  const models = new Map<string, { model: import('../train/types.js').AQAModel; config: unknown; kit: ModelKit }>();
  try {
    if (v.checkpoint) {
      const path = resolve(String(v.checkpoint));
      const loaded = await loadCheckpointOrFail(path);
      const recorded = loaded.extra.action as ActionInfo | undefined;
      const key = recorded?.id ?? list(v.actions)?.[0] ?? '';
      if (!key) throw new CliError(`${path} does not record its action`, EXIT.usage, 'pass --actions <id>');
      const action = findAction(dataset.actions, key);
      if (recorded && recorded.numGrades !== action.numGrades) {
        throw new CliError(`${path} grades action ${recorded.id} on ${recorded.numGrades} grades, but the data's action ${action.id} has ${action.numGrades}`, EXIT.data, 'evaluate on the data the checkpoint was trained for');
      }
      models.set(action.id, loaded);
    } else {
      const dir = resolve(String(v.run));
      if (!existsSync(dir)) throw new CliError(`results folder not found: ${dir}`, EXIT.data, 'pass the folder written by dualalign train (runs/<name>)');
      const ckDir = join(dir, 'checkpoints');
      const available = existsSync(ckDir) ? readdirSync(ckDir).filter((a) => existsSync(join(ckDir, a, 'best.ckpt'))) : [];
      if (available.length === 0) throw new CliError(`${dir} has no checkpoints/<action>/best.ckpt`, EXIT.data, 'train first: dualalign train --out ' + String(v.run));
      const wanted = actionKeys(v, dataset) ?? available;
      for (const key of wanted) {
        const action = findAction(dataset.actions, key);
        const path = join(ckDir, safeName(action.id), 'best.ckpt');
        if (!existsSync(path)) throw new CliError(`no checkpoint for action ${action.id} in ${dir}`, EXIT.data, `available: ${available.join(', ')}`);
        models.set(action.id, await loadCheckpointOrFail(path));
      }
    }
    const rate = num(v['missing-modality'], 'missing-modality', { min: 0, max: 1 }) ?? 0;
    const rows: ActionMetrics[] = [];
    const out: unknown[] = [];
    for (const [id, { model, config, kit }] of models) {
      const action = findAction(dataset.actions, id);
      let { test } = actionSplit(dataset.samples, action);
      if (rate > 0) {
        const { dropModalities, defaultKeptModality } = await import('../train/experiment.js');
        const keep = defaultKeptModality(dataset.modalities);
        test = dropModalities(test, dataset.modalities.filter((m) => m !== keep), rate, seedOf(v));
      }
      const ev = await evaluate(kit, model, config, test, action, { modalities: dataset.modalities });
      rows.push({ ...ev.metrics, method: methodName(kit) });
      out.push({ id: action.id, name: action.name, alpha: alphaOf(dataset.samples, action), ...metricsJson(ev.metrics), srccScore: ev.srccScore, confusion: confusionMatrix(ev.truth, ev.predictions, action) });
    }
    const average = averageMetrics(rows);
    if (v.json) io.stdout(`${JSON.stringify({ actions: out, average, missingModalityRate: rate }, null, 2)}\n`);
    else io.stdout(`${perActionTable(rows)}`);
    return EXIT.ok;
  } finally {
    for (const m of models.values()) m.model.dispose();
  }
}

async function loadCheckpointOrFail(path: string) {
  if (!existsSync(path)) throw new CliError(`checkpoint not found: ${path}`, EXIT.data, 'train first (dualalign train) or check the path');
  try {
    return await loadAnyCheckpoint(path);
  } catch (error) {
    throw new CliError(`could not load checkpoint ${path}: ${(error as Error).message}`, EXIT.data, 'the file is corrupt or from another model; retrain, or use the run\'s last.ckpt / best.ckpt');
  }
}

function readSampleFolder(dir: string, modalities: readonly string[]): Sample {
  if (!existsSync(dir)) throw new CliError(`sample folder not found: ${dir}`, EXIT.data, 'pass a folder holding <modality>.npy files (video.npy, flow.npy, skeleton.npy, image.npy, text.npy)');
  const files = readdirSync(dir);
  const sample: Sample = { id: basename(dir), action: '', modalities: {} };
  let found = 0;
  for (const m of modalities) {
    const name = FEATURE_EXTENSIONS.map((ext) => `${m}${ext}`).find((n) => files.includes(n));
    if (!name) continue;
    try {
      sample.modalities[m] = toFeatureArray(decodeFeatureFile(name, readFileSync(join(dir, name)), m, nodeInflateRaw), `${join(dir, name)}`);
      found++;
    } catch (error) {
      throw new CliError(`could not read ${join(dir, name)}: ${(error as Error).message}`, EXIT.data, 'the file is corrupt or not a numeric array; re-export it as float32 .npy');
    }
  }
  if (found === 0) throw new CliError(`${dir} holds none of the model's modality files (${modalities.map((m) => `${m}.npy`).join(', ')})`, EXIT.data);
  return sample;
}

async function cmdPredict(v: Values, io: CliIO): Promise<number> {
  if (!v.checkpoint) throw new CliError('predict needs --checkpoint <file>', EXIT.usage, 'e.g. --checkpoint runs/<name>/checkpoints/01/best.ckpt');
  if (!v.sample && !v.id) throw new CliError('predict needs --sample <folder> or --data <folder> --id <sample id>', EXIT.usage, 'see: dualalign predict --help');
  await initDevice(v);
  const path = resolve(String(v.checkpoint));
  const { model, config, kit, extra } = await loadCheckpointOrFail(path);
  try {
    const action = (extra.action as ActionInfo | undefined) ?? { id: '?', name: '?', minGrade: 0, maxGrade: 0, numGrades: 0 };
    const modalities = kit.name === 'dualalign' ? modalityNames(resolveConfig((config as { model: never }).model)) : (config as { layout: { modalities: string[] } }).layout.modalities;
    let sample: Sample;
    if (v.sample) sample = readSampleFolder(resolve(String(v.sample)), modalities);
    else {
      const { dataset } = loadDataset(dataArgs(v));
      const found = dataset.samples.find((s) => s.id === v.id);
      if (!found) throw new CliError(`no sample with id '${String(v.id)}' in the data`, EXIT.data, `ids look like: ${dataset.samples.slice(0, 3).map((s) => s.id).join(', ')}`);
      sample = found;
    }
    const input: Sample = { ...sample, grade: undefined, modalities: Object.fromEntries(modalities.map((m) => [m, sample.modalities[m]])) };
    const batch = kit.collate([input], config);
    let p;
    try {
      p = await model.predict(batch);
    } catch (error) {
      throw new CliError(`cannot grade this sample: ${(error as Error).message}`, EXIT.data, 'the anchor modality (video) must be present and every feature shaped as in training');
    } finally {
      kit.disposeBatch(batch);
    }
    const probs = Array.from((p.probabilities as ArrayLike<ArrayLike<number>>)[0]!);
    const present = modalities.filter((m) => input.modalities[m] !== undefined);
    const grade = Number(p.grades[0]) + action.minGrade;
    const result = {
      id: sample.id,
      action: action.id,
      actionName: action.name,
      grade,
      expectedGrade: probs.reduce((s, q, g) => s + q * g, 0) + action.minGrade,
      probabilities: Object.fromEntries(probs.map((q, g) => [String(g + action.minGrade), q])),
      modalitiesPresent: present,
      modalitiesMissing: modalities.filter((m) => !present.includes(m)),
      trueGrade: sample.grade ?? null,
      checkpoint: path,
    };
    if (v.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else {
      io.stdout(`sample ${result.id} (action ${action.id} ${action.name}): grade ${grade}${sample.grade !== undefined ? ` (true ${sample.grade})` : ''}\n`);
      io.stdout(`probability of each grade: ${probs.map((q, g) => `${g + action.minGrade}: ${(q * 100).toFixed(1)}%`).join(', ')}\n`);
      io.stdout(`modalities present: ${present.join(', ')}${result.modalitiesMissing.length ? `; missing (placeholders): ${result.modalitiesMissing.join(', ')}` : ''}\n`);
    }
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

async function cmdRobustness(v: Values, io: CliIO): Promise<number> {
  const mode = String(v.mode ?? '');
  if (mode !== 'modality' && mode !== 'label') throw new CliError(`robustness needs --mode modality or --mode label${v.mode ? ` (got '${mode}')` : ''}`, EXIT.usage, 'see: dualalign robustness --help');
  const { dataset, source } = loadDataset(dataArgs(v));
  await initDevice(v);
  const rates = numList(v.rates, 'rates') ?? PAPER_RATES;
  for (const r of rates) if (!(r >= 0 && r < 1)) throw new CliError(`--rates must lie in [0, 1), got ${r}`, EXIT.usage);
  const s = trainSettings(v);
  if (seedsOf(v).length > 1) throw new CliError('robustness runs one seed at a time', EXIT.usage, 'drop --seeds (use --seed)');
  const run = v.from && !v.out ? { name: basename(resolve(String(v.from))), dir: resolve(String(v.from)) } : runName(v, `robustness-${mode}`);
  let result;
  if (mode === 'modality') {
    let models;
    let kit = s.kit;
    if (v.from) {
      const dir = resolve(String(v.from));
      if (!existsSync(dir)) throw new CliError(`results folder not found: ${dir}`, EXIT.data, 'pass the folder written by dualalign train');
      const actions = selectActions(dataset, actionKeys(v, dataset) ?? readdirSync(join(dir, 'checkpoints')).filter((a) => existsSync(join(dir, 'checkpoints', a, 'best.ckpt'))));
      const first = join(dir, 'checkpoints', safeName(actions[0]!.id), 'best.ckpt');
      kit = (await loadCheckpointOrFail(first)).kit;
      try {
        models = await loadRunModels(kit, dir, actions);
      } catch (error) {
        throw new CliError((error as Error).message, EXIT.data);
      }
    } else {
      if (!v.quiet) io.stderr(`training with every modality first (results: ${run.dir})\n`);
      // The trained models stay in memory for the evaluation below.
      models = (await trainRun(v, io, dataset, source, s, run, {}, true)).models;
    }
    try {
      const bar = counterProgress(io, Boolean(v.quiet), 'evaluating');
      result = await runModalityRobustness({
        name: run.name,
        runDir: run.dir,
        kit,
        dataset,
        models,
        rates,
        repeats: num(v.repeats, 'repeats', { int: true, min: 1 }) ?? 3,
        seed: seedOf(v),
        keep: v.keep as string | undefined,
        log: (m) => io.stderr(`${m}\n`),
        onProgress: bar.tick,
      });
      bar.stop();
    } finally {
      for (const m of models.values()) m.model.dispose();
    }
  } else {
    const progress = new TrainProgress(io, Boolean(v.quiet));
    try {
      result = await withInterrupt(
        (signal) =>
          runLabelRobustness({
            ...runOptions(v, dataset, s, run),
            rates,
            onEvent: progress.handle,
            signal,
            log: (m) => io.stderr(`${m}\n`),
            onRate: (rate) => {
              if (!v.quiet) io.stderr(`— missing label rate ${rate}\n`);
            },
          }),
        io,
      );
    } finally {
      progress.stop();
    }
  }
  if (v.json) io.stdout(`${JSON.stringify({ ...result.summary, runDir: run.dir, files: result.files }, null, 2)}\n`);
  else {
    const { robustnessMarkdown } = await import('../report/report.js');
    io.stdout(`\n${robustnessMarkdown(result.summary)}\nfiles: ${result.files.join(', ')}\n`);
  }
  return EXIT.ok;
}

async function cmdDoctor(v: Values, io: CliIO): Promise<number> {
  const families = list(v.family) as SelfTestFamily[] | undefined;
  for (const f of families ?? []) {
    if (!SELF_TEST_FAMILIES.includes(f)) throw new CliError(`unknown --family '${f}'`, EXIT.usage, `families: ${SELF_TEST_FAMILIES.join(', ')}`);
  }
  await initDevice(v);
  if (deviceInfo().backend === 'cpu') throw new CliError('doctor checks a GPU adapter against the CPU reference; --backend cpu has nothing to check', EXIT.usage, 'use --backend webgpu or webgpu-compat');
  const stream = !v.json && !v.quiet;
  if (stream) io.stdout(`adapter: ${selfTestAdapter()}\nchecking ${families?.length ?? SELF_TEST_FAMILIES.length} kernel famil${(families?.length ?? SELF_TEST_FAMILIES.length) === 1 ? 'y' : 'ies'} against the CPU float64 reference…\n`);
  const report = await selfTest({ families, onFamily: (f) => stream && io.stdout(`${formatFamily(f)}\n`) });
  if (v.json) io.stdout(`${JSON.stringify(report, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 2)}\n`);
  else {
    if (v.quiet) for (const f of report.families.filter((r) => !r.passed)) io.stdout(`${formatFamily(f)}\n`);
    io.stdout(`${selfTestVerdict(report)}\n`);
  }
  return report.passed ? EXIT.ok : EXIT.failure;
}

async function cmdInfo(v: Values, io: CliIO): Promise<number> {
  await initDevice(v);
  const info = deviceInfo();
  if (v.json) io.stdout(`${JSON.stringify(info, null, 2)}\n`);
  else {
    io.stdout(`backend:       ${info.backend} (${info.featureLevel})\nadapter:       ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' — ')}\n`);
    io.stdout(`features:      ${info.features.length ? info.features.join(', ') : '(none)'}\nlimits:\n`);
    for (const [k, val] of Object.entries(info.limits)) io.stdout(`  ${k.padEnd(36)} ${val}\n`);
  }
  return EXIT.ok;
}

function packageRoot(): string {
  // dist/cli.js or src/cli/main.ts -> the folder with package.json
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

async function cmdBench(args: string[], io: CliIO): Promise<number> {
  const root = packageRoot();
  const script = join(root, 'bench', 'run.mjs');
  if (!existsSync(script)) throw new CliError(`bench/run.mjs not found in ${root}`, EXIT.usage, 'the benchmarks ship with the source repository, not the npm package');
  return await new Promise<number>((resolvePromise) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => io.stdout(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.stderr(d.toString()));
    child.on('close', (code) => resolvePromise(code ?? EXIT.failure));
  });
}

/** The demo's reduced sizes (stated in its output) and the paper's (--full). */
export const DEMO = {
  actions: 3,
  epochs: 15,
  batchSize: 8,
  /** The recipe (src/optim/presets.ts RECIPE): in a few hundred steps the paper's SGD barely moves. */
  preset: 'recipe' as const,
  synth: { scale: 0.75, framesPerClip: 2, imageFrames: 16 },
  model: { d1: 64, d2: 32, d3: 32, heads: 4, gcnChannels: [16, 16] },
  full: { epochs: 30, synth: { scale: 1 }, model: {} },
};

/** The demo's data, sizes and optimiser for the given flags (shared by demo and ablate --demo). */
function demoSetup(v: Values, kit: ModelKit) {
  const full = Boolean(v.full);
  const nActions = num(v.actions, 'actions', { int: true, min: 1, max: 12 }) ?? DEMO.actions;
  const epochs = num(v.epochs, 'epochs', { int: true, min: 1 }) ?? (full ? DEMO.full.epochs : DEMO.epochs);
  const scale = num(v.scale, 'scale', { min: 0.01 });
  const synth: { actions: number; scale: number; framesPerClip?: number; imageFrames?: number; generator: SyntheticGenerator } = { actions: nActions, ...(full ? DEMO.full.synth : DEMO.synth), ...(scale !== undefined ? { scale } : {}), generator: generatorOf(v) };
  const overrides: Partial<typeof DEMO.model> = full ? DEMO.full.model : DEMO.model;
  const settings: TrainSettings = full
    ? { kit, epochs, batchSize: DEMO.batchSize, preset: 'paper', overrides: {}, select: selectOf(v), validationFraction: validationFractionOf(v) }
    : { kit, epochs, batchSize: DEMO.batchSize, preset: DEMO.preset, overrides: kit.name === 'dualalign' ? { ...presetModel(DEMO.preset, kit), ...overrides } : {}, select: selectOf(v), validationFraction: validationFractionOf(v) };
  return { full, epochs, synth, overrides, settings };
}

async function cmdDemo(v: Values, io: CliIO): Promise<number> {
  const t0 = performance.now();
  await initDevice(v);
  const info = deviceInfo();
  const kit = kitOf(v);
  const { full, epochs, synth, overrides, settings: s } = demoSetup(v, kit);
  const seeds = seedsOf(v);
  const say = (t: string) => {
    if (!v.quiet) io.stderr(t);
  };
  say(`DualAlign demo on ${info.backend}: ${[info.vendor, info.description].filter(Boolean).join(' — ')}\n`);
  const { generateSyntheticMMJDM } = await import('../data/synthetic.js');
  const datasetFor = (seed: number) => generateSyntheticMMJDM({ seed, ...synth });
  const dataset = datasetFor(seeds[0]!);
  say(`synthetic MM-JDM: ${dataset.samples.length} samples, actions ${dataset.actions.map((a) => `${a.id} ${a.name} (${dataset.summary.perAction[a.id]})`).join(', ')}${seeds.length > 1 ? `; regenerated for each of seeds ${seeds.join(', ')}` : ''}\n`);
  if (full) say(`paper sizes (--full): D1 1024, D2 512, D3 512, 8 heads, GCN 64-128-256, 160 skeleton frames, 103 CLIP frames, all of Table 2's samples; SGD lr 1e-2 cosine; ${epochs} epochs\n`);
  else
    say(
      `reduced sizes so the demo finishes in minutes on a CPU: ${kit.name === 'dualalign' ? `D1 ${overrides.d1}, D2 ${overrides.d2}, D3 ${overrides.d3}, ${overrides.heads} heads, GCN ${overrides.gcnChannels!.join('-')}, ` : ''}` +
        `${(synth.framesPerClip ?? 16) * 10} skeleton frames, ${synth.imageFrames} CLIP frames, ${synth.scale} of Table 2's samples, generator ${synth.generator}, ${epochs} epochs, ` +
        `the 'recipe' preset (AdamW lr ${RECIPE.lr}, ${RECIPE.warmupShare * 100} % warm-up${kit.name === 'dualalign' ? `, ETF logit scale ${RECIPE.model.logitScale}, λ ${RECIPE.model.lambda1}, time-aware fusion and pooling` : ''}) instead of the paper's SGD; paper sizes and settings: --full\n`,
    );
  say(`model selection: ${describeSelection(s.select, s.validationFraction)}\n`);
  const run = runName({ ...v, out: v.out ?? 'runs/demo' }, 'demo');
  const extra = { demo: { full, synth, seeds } };
  if (seeds.length > 1) {
    const { summary, files, runs } = await trainSeeds({ ...v, actions: undefined }, io, dataset, 'synthetic MM-JDM', s, run, seeds, datasetFor, extra);
    const seconds = (performance.now() - t0) / 1000;
    if (v.json) io.stdout(`${JSON.stringify({ ...summary, runDir: run.dir, files, perSeed: runs.map((r, i) => ({ seed: seeds[i], seconds: r.seconds, average: r.average })), demo: { full, synth, overrides, epochs, totalSeconds: seconds } }, null, 2)}\n`);
    else {
      io.stdout(`\n${seedsTableMarkdown(summary)}\n`);
      io.stdout(`Synthetic data, reduced model and few epochs: the numbers show the pipeline working, not the paper's results.\n`);
      io.stdout(`Results: ${run.dir} (table.md, metrics.json, seed-<s>/) — total ${formatDuration(seconds)}\n`);
    }
    return EXIT.ok;
  }
  const { summary, files } = await trainRun({ ...v, actions: undefined }, io, dataset, 'synthetic MM-JDM', s, run, extra);
  const seconds = (performance.now() - t0) / 1000;
  if (v.json) io.stdout(`${JSON.stringify({ ...summaryJson(summary, run.dir, files), demo: { full, synth, overrides, epochs, totalSeconds: seconds } }, null, 2)}\n`);
  else {
    io.stdout(`\n${runTableMarkdown(summary)}\n`);
    io.stdout(`Synthetic data, reduced model and few epochs: the numbers show the pipeline working, not the paper's results.\n`);
    io.stdout(`Results, plots and checkpoints: ${run.dir} — total ${formatDuration(seconds)}\n`);
  }
  return EXIT.ok;
}

async function cmdAblate(v: Values, io: CliIO): Promise<number> {
  const kit = kitOf(v);
  if (kit.name !== 'dualalign') throw new CliError('ablate varies DualAlign; --model must be dualalign', EXIT.usage);
  const seeds = seedsOf(v);
  let dataset: Dataset;
  let source: string;
  let datasetFor: ((seed: number) => Dataset) | undefined;
  let s: TrainSettings;
  const demo = Boolean(v.demo) || (!v.data && !v.synthetic);
  if (demo) {
    const setup = demoSetup(v, kit);
    s = { ...setup.settings, overrides: { ...setup.settings.overrides, ...modelOverrides(v) } };
    const { generateSyntheticMMJDM } = await import('../data/synthetic.js');
    datasetFor = (seed: number) => generateSyntheticMMJDM({ seed, ...setup.synth });
    dataset = datasetFor(seeds[0]!);
    source = 'synthetic MM-JDM (demo sizes)';
  } else {
    ({ dataset, source } = loadDataset(dataArgs(v)));
    s = trainSettings(v);
  }
  await initDevice(v);
  let variants;
  try {
    variants = selectVariants(dataset.modalities, list(v.variants));
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage);
  }
  const run = runName(v, 'ablate');
  if (!v.quiet) io.stderr(`${describeLoad(dataset, source)}${variants.length} variants × ${seeds.length} seed(s); ${describeSelection(s.select, s.validationFraction)}; results: ${run.dir}\n`);
  const progress = new TrainProgress(io, Boolean(v.quiet));
  let result;
  try {
    result = await withInterrupt(
      (signal) =>
        runAblation({
          name: run.name,
          runDir: run.dir,
          dataset,
          datasetFor,
          actions: demo ? undefined : actionKeys(v, dataset),
          seeds,
          variants,
          kit,
          epochs: s.epochs,
          batchSize: s.batchSize,
          preset: s.preset,
          lr: s.lr,
          select: s.select,
          validationFraction: s.validationFraction,
          modelOverrides: s.overrides,
          configRecord: { data: source, command: process.argv.slice(2).join(' ') },
          onEvent: progress.handle,
          signal,
          log: (m) => io.stderr(`${m}\n`),
          onVariant: (variant, seed, done, total) => {
            if (!v.quiet) io.stderr(`— ${variant.label}, seed ${seed} (${done + 1}/${total})\n`);
          },
        }),
      io,
    );
  } finally {
    progress.stop();
  }
  const { ablationMarkdown } = await import('../train/ablation.js');
  if (v.json) io.stdout(`${JSON.stringify({ ...result.summary, runDir: run.dir, files: result.files }, null, 2)}\n`);
  else io.stdout(`\n${ablationMarkdown(result.summary)}\nfiles: ${result.files.join(', ')}\n`);
  return EXIT.ok;
}

// ---- entry ------------------------------------------------------------------------------------

function describeError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof InterruptedError) return new CliError(`${error.message}; checkpoints of finished epochs are kept`, EXIT.interrupted, 'continue with the same command plus --resume');
  if (error instanceof UnknownActionError) return new CliError(error.message, EXIT.usage, 'pass --actions with ids from that list');
  if (error instanceof NoAdapterError) return new CliError(error.message, EXIT.device, 'or run with --backend cpu');
  const message = (error as Error)?.message ?? String(error);
  if (/not found|ENOENT|no such file/i.test(message)) return new CliError(message, EXIT.data, 'check the path');
  return new CliError(message, EXIT.failure);
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [command, ...rest] = argv;
  let json = rest.includes('--json');
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      io.stdout(topHelp());
      return command ? EXIT.ok : EXIT.usage;
    }
    if (command === '--version' || command === '-v') {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
      io.stdout(`${pkg.version}\n`);
      return EXIT.ok;
    }
    const spec = COMMANDS[command];
    if (!spec) throw new CliError(`unknown command '${command}'`, EXIT.usage, `commands: ${Object.keys(COMMANDS).join(', ')} (dualalign --help)`);
    if (command === 'bench') {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout(`${spec.help}\n`);
        return EXIT.ok;
      }
      return await cmdBench(rest, io);
    }
    const v = parse(command, rest);
    json = Boolean(v.json);
    if (v.help) {
      io.stdout(`${spec.help}\n\n${EXIT_HELP}\n`);
      return EXIT.ok;
    }
    switch (command) {
      case 'synth':
        return await cmdSynth(v, io);
      case 'train':
        return await cmdTrain(v, io);
      case 'eval':
        return await cmdEval(v, io);
      case 'predict':
        return await cmdPredict(v, io);
      case 'robustness':
        return await cmdRobustness(v, io);
      case 'info':
        return await cmdInfo(v, io);
      case 'doctor':
        return await cmdDoctor(v, io);
      case 'demo':
        return await cmdDemo(v, io);
      case 'ablate':
        return await cmdAblate(v, io);
    }
    return EXIT.usage;
  } catch (error) {
    const e = describeError(error);
    if (json) io.stdout(`${JSON.stringify({ error: e.message, hint: e.hint ?? null, exitCode: e.exitCode })}\n`);
    io.stderr(`dualalign ${command ?? ''}: error: ${e.message}\n${e.hint ? `  fix: ${e.hint}\n` : ''}`);
    if (e.exitCode === EXIT.failure && process.env.DUALALIGN_DEBUG) io.stderr(`${(error as Error)?.stack ?? ''}\n`);
    return e.exitCode;
  }
}

function isEntry(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      shutdown();
      process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`dualalign: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(EXIT.failure);
    },
  );
}
