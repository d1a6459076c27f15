/**
 * MM-JDM's published statistics (DualAlign paper, Table 2 and section 4.4): 12 actions,
 * 1,639 samples, 29 subjects. Used by the MM-JDM loader for grade ranges and by the
 * synthetic generator for the dataset's shape.
 */

export interface MMJDMActionSpec {
  /** Two-digit index as in Table 2 ('01'..'12'). */
  id: string;
  name: string;
  /** Range of raw video lengths in frames. */
  frames: [number, number];
  samples: number;
  /** Grades run 0..maxGrade. */
  maxGrade: number;
}

export const MMJDM_ACTIONS: readonly MMJDMActionSpec[] = [
  { id: '01', name: 'Head Lift', frames: [59, 3960], samples: 123, maxGrade: 5 },
  { id: '02', name: 'Leg Lift', frames: [33, 961], samples: 134, maxGrade: 2 },
  { id: '03', name: 'Leg Lift and Maintain', frames: [90, 3810], samples: 136, maxGrade: 5 },
  { id: '04', name: 'Turn Over', frames: [30, 1169], samples: 140, maxGrade: 4 },
  { id: '05', name: 'Sit Up of 6 types', frames: [30, 1650], samples: 193, maxGrade: 6 },
  { id: '06', name: 'Sit Up', frames: [30, 1530], samples: 133, maxGrade: 3 },
  { id: '07', name: 'Arm Lift and Straighten', frames: [30, 357], samples: 128, maxGrade: 3 },
  { id: '08', name: 'Hand Raise and Maintain', frames: [59, 2460], samples: 126, maxGrade: 4 },
  { id: '09', name: 'Sit Down', frames: [30, 570], samples: 127, maxGrade: 3 },
  { id: '10', name: 'Stand Up from Kneeling', frames: [29, 1407], samples: 143, maxGrade: 4 },
  { id: '11', name: 'Stand Up from Sitting', frames: [30, 1204], samples: 123, maxGrade: 4 },
  { id: '12', name: 'Step On', frames: [29, 398], samples: 133, maxGrade: 3 },
];

export const MMJDM_SUBJECTS = 29;

/** Finds a Table 2 action by id ('01', '1', 1) or name (case-insensitive). */
export function findMMJDMAction(key: string | number): MMJDMActionSpec | undefined {
  const text = String(key).trim();
  if (/^\d+$/.test(text)) return MMJDM_ACTIONS.find((a) => Number(a.id) === Number(text));
  return MMJDM_ACTIONS.find((a) => a.name.toLowerCase() === text.toLowerCase());
}
