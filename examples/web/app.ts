/**
 * The example page: synthetic MM-JDM -> DualAlign trained on this page's GPU with a live loss / SRCC
 * chart -> per-grade probabilities of a held-out sample; or a saved checkpoint + feature files.
 * Served by `node scripts/serve.mjs`, which bundles this file on request.
 */
import { init, manualSeed, NoAdapterError, deviceInfo, DualAlign, generateSyntheticMMJDM, MMJDM_ACTIONS, mulberry32, shuffleInPlace, spearman, carveValidation, type Sample } from 'dualalign-gpu';
import { decodeCheckpoint, encodeCheckpoint } from 'dualalign-gpu/io';
import { TrainingChart, type ChartData } from './chart.js';
import { parseFeatureFiles } from './features.js';
import { ALL_MODALITIES, SYNTH, makeOptimizer, modelModalities, pageConfig, predict, trainStep } from './model.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  device: $('device'),
  form: $<HTMLFormElement>('train-form'),
  action: $<HTMLSelectElement>('action'),
  samples: $<HTMLInputElement>('samples'),
  epochs: $<HTMLInputElement>('epochs'),
  batch: $<HTMLInputElement>('batch'),
  stat: { steps: $('stat-steps'), loss: $('stat-loss'), srcc: $('stat-srcc'), time: $('stat-time') },
  lr: $<HTMLInputElement>('lr'),
  seed: $<HTMLInputElement>('seed'),
  modalities: $('modalities'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  save: $<HTMLButtonElement>('save'),
  trainStatus: $('train-status'),
  sample: $<HTMLSelectElement>('sample'),
  gradeSample: $<HTMLButtonElement>('grade-sample'),
  ckptFile: $<HTMLInputElement>('ckpt-file'),
  featFile: $<HTMLInputElement>('feat-file'),
  gradeFiles: $<HTMLButtonElement>('grade-files'),
  gradeStatus: $('grade-status'),
  result: $('result'),
};

type State = 'starting' | 'ready' | 'training' | 'trained' | 'error';
interface Trained {
  model: DualAlign;
  action: { id: string; name: string; minGrade: number; maxGrade: number };
  /** From a loaded checkpoint file (name) or trained here. */
  source: string;
}

let state: State = 'starting';
let current: Trained | null = null;
let heldOut: Sample[] = [];
let stopRequested = false;
let grading = false;
const chart = new TrainingChart($('chart'));

function setState(s: State): void {
  state = s;
  document.body.dataset.state = s;
  const busy = s === 'training' || s === 'starting' || s === 'error';
  ui.train.disabled = busy;
  ui.stop.disabled = s !== 'training';
  ui.save.disabled = busy || !current;
  ui.sample.disabled = busy || heldOut.length === 0;
  ui.gradeSample.disabled = busy || grading || !current || heldOut.length === 0;
  ui.gradeFiles.disabled = busy || grading || !(current || ui.ckptFile.files?.length) || !ui.featFile.files?.length;
  for (const input of ui.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) input.disabled = s === 'training' || (input as HTMLInputElement).dataset.locked === '1';
}

function say(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- form set-up --------------------------------------------------------------------------------

for (const a of MMJDM_ACTIONS) {
  const o = document.createElement('option');
  o.value = a.id;
  o.textContent = `${a.id} ${a.name} (grades 0–${a.maxGrade})`;
  ui.action.append(o);
}
ui.action.value = '06';
for (const m of ALL_MODALITIES) {
  const label = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.name = 'modality';
  box.value = m;
  box.checked = true;
  if (m === 'video') {
    box.dataset.locked = '1';
    box.disabled = true;
    box.title = 'video is the anchor modality and is always used';
  }
  label.append(box, ` ${m}${m === 'video' ? ' (anchor)' : ''}`);
  ui.modalities.append(label);
}

function chosenModalities(): string[] {
  return [...ui.modalities.querySelectorAll<HTMLInputElement>('input[name=modality]')].filter((b) => b.checked).map((b) => b.value);
}

function numberFrom(input: HTMLInputElement, lo: number, hi: number, integer: boolean): number {
  const v = Number(input.value);
  if (!Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    input.focus();
    throw new Error(`${input.labels?.[0]?.textContent ?? input.id} must be ${integer ? 'an integer' : 'a number'} between ${lo} and ${hi}`);
  }
  return v;
}

// ---- device -------------------------------------------------------------------------------------

async function start(): Promise<void> {
  setState('starting');
  try {
    const info = await init();
    const what = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
    say(ui.device, `WebGPU ${info.featureLevel === 'compatibility' ? '(compatibility mode) ' : ''}ready: ${what}`);
    ui.device.dataset.backend = info.backend;
    setState('ready');
  } catch (e) {
    say(ui.device, e instanceof NoAdapterError ? e.message : `Could not start WebGPU: ${errorText(e)}`, true);
    const cpu = document.createElement('button');
    cpu.type = 'button';
    cpu.id = 'use-cpu';
    cpu.textContent = 'Use the CPU reference backend instead (slow)';
    cpu.addEventListener('click', async () => {
      const info = await init({ backend: 'cpu' });
      cpu.remove();
      say(ui.device, `No WebGPU: running on the ${info.description} — expect training to be slow.`);
      ui.device.dataset.backend = info.backend;
      setState('ready');
    });
    ui.device.after(cpu);
    setState('error');
  }
}

// ---- training -----------------------------------------------------------------------------------

async function trainHere(): Promise<void> {
  let samplesPerAction: number, epochs: number, batchSize: number, lr: number, seed: number;
  try {
    samplesPerAction = numberFrom(ui.samples, 8, 200, true);
    epochs = numberFrom(ui.epochs, 1, 200, true);
    batchSize = numberFrom(ui.batch, 2, 64, true);
    lr = numberFrom(ui.lr, 1e-5, 1, false);
    seed = numberFrom(ui.seed, 0, 2 ** 31 - 1, true);
  } catch (e) {
    say(ui.trainStatus, errorText(e), true);
    return;
  }
  const use = chosenModalities();
  stopRequested = false;
  current?.model.dispose();
  current = null;
  heldOut = [];
  setState('training');
  let model: DualAlign | null = null;
  try {
    say(ui.trainStatus, 'Generating synthetic data…');
    const ds = generateSyntheticMMJDM({ seed, actions: [ui.action.value], samplesPerAction, ...SYNTH, dims: { ...SYNTH.dims } });
    const action = ds.actions[0]!;
    // Honest protocol: a fixed epoch budget; the per-epoch curve is on a validation split carved from
    // the training samples (stratified by grade), and the test samples are graded once, after training.
    const { fit: train, validation } = carveValidation(ds.samples.filter((s) => s.split !== 'test'), 0.2, seed);
    const test = ds.samples.filter((s) => s.split === 'test');
    manualSeed(seed);
    model = new DualAlign(pageConfig(action.numGrades, use, seed));
    const opt = makeOptimizer(model, lr);
    const batches = Math.max(1, Math.floor(train.length / batchSize));
    const data: ChartData = { loss: [], srcc: [], totalSteps: epochs * batches };
    chart.render(data);
    const rng = mulberry32(seed ^ 0x5bd1e995);
    const truth = validation.map((s) => s.grade!);
    const t0 = performance.now();
    let stepTime = 0;
    let stopped = false;
    const stats = () => {
      const l = data.loss[data.loss.length - 1];
      const r = data.srcc[data.srcc.length - 1];
      ui.stat.steps.textContent = `${data.loss.length} / ${data.totalSteps}`;
      ui.stat.loss.textContent = l === undefined ? '–' : l.toFixed(3);
      ui.stat.srcc.textContent = r === undefined ? '–' : r.value.toFixed(3);
      ui.stat.time.textContent = stepTime ? (stepTime < 1 ? `${(stepTime * 1000).toFixed(0)} ms` : `${stepTime.toFixed(1)} s`) : '–';
    };
    stats();
    say(ui.trainStatus, 'Compiling the GPU kernels and running the first step…');
    for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
      const order = shuffleInPlace([...train], rng);
      for (let b = 0; b < batches; b++) {
        // The last batch takes the remainder, so no batch has a single sample.
        const chunk = order.slice(b * batchSize, b === batches - 1 ? order.length : (b + 1) * batchSize);
        const ts = performance.now();
        const loss = await trainStep(model, opt, chunk);
        // The first step includes compiling every kernel: time the later ones.
        if (data.loss.length > 0) stepTime = stepTime ? 0.7 * stepTime + 0.3 * ((performance.now() - ts) / 1000) : (performance.now() - ts) / 1000;
        data.loss.push(loss);
        chart.render(data);
        stats();
        say(ui.trainStatus, `Epoch ${epoch}/${epochs}, step ${data.loss.length}/${data.totalSteps}: loss ${loss.toFixed(4)}`);
        if (stopRequested) {
          stopped = true;
          break;
        }
      }
      const pred = await predict(model, validation);
      const srcc = spearman(pred.expected, truth);
      data.srcc.push({ step: data.loss.length, value: Number.isFinite(srcc) ? srcc : 0 });
      chart.render(data);
      stats();
    }
    opt.dispose();
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const tested = await predict(model, test);
    const testSrcc = spearman(tested.expected, test.map((s) => s.grade!));
    current = { model, action: { id: action.id, name: action.name, minGrade: action.minGrade, maxGrade: action.maxGrade }, source: 'trained on this page' };
    heldOut = test;
    fillHeldOut(test);
    say(
      ui.trainStatus,
      `${stopped ? 'Stopped' : 'Trained'}: ${data.loss.length} steps on ${train.length} samples in ${secs} s; test SRCC ${Number.isFinite(testSrcc) ? testSrcc.toFixed(3) : 'n/a'} on ${test.length} held-out samples (evaluated once, after training; the curve is on ${validation.length} validation samples). Modalities: ${use.join(', ')}.`,
    );
    setState('trained');
    await gradeHeldOut();
  } catch (e) {
    console.error(e);
    if (model && current?.model !== model) model.dispose();
    say(ui.trainStatus, `Training failed: ${errorText(e)}`, true);
    setState(current ? 'trained' : 'ready');
  }
}

function fillHeldOut(test: Sample[]): void {
  ui.sample.replaceChildren();
  test.forEach((s, i) => {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = `${s.id} — subject ${s.subject ?? '?'}, true grade ${s.grade}`;
    ui.sample.append(o);
  });
}

// ---- grading ------------------------------------------------------------------------------------

function renderResult(title: string, probs: number[], minGrade: number, truth: number | undefined, used: string[], present: Record<string, boolean>): void {
  const best = probs.indexOf(Math.max(...probs));
  const expected = probs.reduce((s, p, g) => s + p * (g + minGrade), 0);
  const wrap = document.createDocumentFragment();
  const h = document.createElement('h3');
  h.textContent = title;
  const verdict = document.createElement('p');
  verdict.className = 'verdict';
  verdict.innerHTML = `Predicted grade <strong>${best + minGrade}</strong> (${(probs[best]! * 100).toFixed(1)}%)`;
  if (truth !== undefined) {
    const ok = truth === best + minGrade;
    verdict.innerHTML += ` · true grade <strong class="${ok ? 'ok' : 'miss'}">${truth}</strong>`;
  }
  verdict.innerHTML += ` · expected grade ${expected.toFixed(2)}`;
  const list = document.createElement('ol');
  list.className = 'bars';
  list.setAttribute('aria-label', 'Probability of each grade');
  probs.forEach((p, g) => {
    const li = document.createElement('li');
    if (g === best) li.classList.add('top');
    if (truth !== undefined && g + minGrade === truth) li.classList.add('truth');
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = `Grade ${g + minGrade}`;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.width = `${Math.max(0.5, p * 100).toFixed(1)}%`;
    track.append(fill);
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = `${(p * 100).toFixed(1)}%`;
    li.append(label, track, pct);
    li.setAttribute('aria-label', `Grade ${g + minGrade}: ${(p * 100).toFixed(1)} percent${truth !== undefined && g + minGrade === truth ? ' (true grade)' : ''}`);
    list.append(li);
  });
  const modsTitle = document.createElement('p');
  modsTitle.className = 'mods-title';
  modsTitle.textContent = 'Modalities:';
  const mods = document.createElement('ul');
  mods.className = 'mods';
  mods.setAttribute('aria-label', 'Modalities');
  for (const m of ALL_MODALITIES as readonly string[]) {
    const li = document.createElement('li');
    const inModel = used.includes(m);
    const has = inModel && present[m] !== false;
    li.className = has ? 'used' : 'missing';
    li.textContent = `${has ? '✓' : '✗'} ${m}`;
    li.title = has ? 'used for this grade' : inModel ? 'missing for this sample: the model used a placeholder' : 'not used by this model';
    li.setAttribute('aria-label', `${m}: ${li.title}`);
    mods.append(li);
  }
  wrap.append(h, verdict, list, modsTitle, mods);
  if (truth !== undefined) {
    const legend = document.createElement('p');
    legend.className = 'legend-note';
    legend.textContent = '★ marks the true grade; the darkest bar is the prediction.';
    wrap.append(legend);
  }
  ui.result.replaceChildren(wrap);
  ui.result.dataset.grade = String(best + minGrade);
}

async function gradeHeldOut(): Promise<void> {
  if (!current) return;
  const sample = heldOut[Number(ui.sample.value || 0)];
  if (!sample) return;
  grading = true;
  setState(state);
  try {
    say(ui.gradeStatus, `Grading ${sample.id}…`);
    const r = await predict(current.model, [sample]);
    renderResult(`${sample.id} · ${current.action.id} ${current.action.name}`, r.probabilities[0]!, current.action.minGrade, sample.grade, modelModalities(current.model), r.modalitiesPresent[0]!);
    say(ui.gradeStatus, `Graded ${sample.id} with the model ${current.source}.`);
  } catch (e) {
    say(ui.gradeStatus, `Grading failed: ${errorText(e)}`, true);
  } finally {
    grading = false;
    setState(state);
  }
}

async function gradeFiles(): Promise<void> {
  grading = true;
  setState(state);
  try {
    let target = current;
    const ck = ui.ckptFile.files?.[0];
    if (ck) {
      say(ui.gradeStatus, `Loading ${ck.name}…`);
      const loaded = await decodeCheckpoint(new Uint8Array(await ck.arrayBuffer()), ck.name);
      const ex = (loaded.extra ?? {}) as { action?: { id: string; name: string; minGrade: number; maxGrade: number } };
      const G = loaded.model.config.numGrades;
      target = { model: loaded.model, action: ex.action ?? { id: '?', name: 'unknown action', minGrade: 0, maxGrade: G - 1 }, source: `from ${ck.name}` };
    }
    if (!target) throw new Error('choose a checkpoint file, or train a model above first');
    const files = [...(ui.featFile.files ?? [])];
    const used = modelModalities(target.model);
    const parsed = await parseFeatureFiles(files, used);
    const r = await predict(target.model, [parsed.sample]);
    renderResult(`${files.map((f) => f.name).join(', ')} · ${target.action.id} ${target.action.name}`, r.probabilities[0]!, target.action.minGrade, undefined, used, r.modalitiesPresent[0]!);
    say(ui.gradeStatus, `Graded your features (${parsed.found.join(', ')}) with the model ${target.source}.`);
    if (target !== current) target.model.dispose();
  } catch (e) {
    say(ui.gradeStatus, `Could not grade the files: ${errorText(e)}`, true);
  } finally {
    grading = false;
    setState(state);
  }
}

async function saveCheckpoint(): Promise<void> {
  if (!current) return;
  try {
    const bytes = await encodeCheckpoint(current.model, { action: current.action, savedBy: 'examples/web' });
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `dualalign-${current.action.id}.safetensors`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say(ui.gradeStatus, `Saved ${a.download} (${(bytes.length / 1024).toFixed(0)} KiB).`);
  } catch (e) {
    say(ui.gradeStatus, `Saving failed: ${errorText(e)}`, true);
  }
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (state !== 'training') void trainHere();
});
ui.stop.addEventListener('click', () => {
  stopRequested = true;
  say(ui.trainStatus, 'Stopping after this step…');
});
ui.save.addEventListener('click', () => void saveCheckpoint());
ui.gradeSample.addEventListener('click', () => void gradeHeldOut());
ui.gradeFiles.addEventListener('click', () => void gradeFiles());
ui.ckptFile.addEventListener('change', () => setState(state));
ui.featFile.addEventListener('change', () => setState(state));

// For tests and the curious: the device in use.
(globalThis as { dualalign?: unknown }).dualalign = { deviceInfo: () => deviceInfo() };
void start();
