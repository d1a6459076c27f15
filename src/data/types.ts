/**
 * The sample and dataset types every loader returns and the model, trainer and CLI consume.
 * Feature arrays are float32 in C order; `shape` says how `data` is laid out.
 */

export interface FeatureArray {
  data: Float32Array;
  shape: number[];
}

export interface Sample {
  id: string;
  action: string;
  subject?: string;
  split?: 'train' | 'test';
  /** Discrete grade (0..G-1), for graded data like MM-JDM and UI-PRMD. */
  grade?: number;
  /** Continuous score, for scored data like RG and FIS-V. */
  score?: number;
  /** e.g. video [T,Cv], flow [T,Cf], skeleton [T,J,C], image [T,512], text [512]. Undefined = missing for this sample. */
  modalities: Record<string, FeatureArray | undefined>;
}

export interface ActionInfo {
  id: string;
  name: string;
  numGrades: number;
  minGrade: number;
  maxGrade: number;
}

export interface LoadSummary {
  loaded: number;
  perAction: Record<string, number>;
  /** Per modality, how many samples lack it. */
  missingModalities: Record<string, number>;
  warnings: string[];
}

export interface Dataset {
  samples: Sample[];
  actions: ActionInfo[];
  modalities: string[];
  summary: LoadSummary;
}
