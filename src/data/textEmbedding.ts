/**
 * A deterministic stand-in for a CLIP text embedding: hashed bag of words (plus word
 * bigrams), signed feature hashing into `dim` buckets, L2-normalised. It is NOT CLIP: it
 * carries lexical overlap only, no learned semantics. It exists so the text modality has a
 * fixed, reproducible vector when no vision-language model is available.
 */
import { hashString } from './prng.js';

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

export function hashTextEmbedding(text: string, dim = 512): Float32Array {
  const out = new Float32Array(dim);
  const tokens = tokenize(text);
  const features = [...tokens, ...tokens.slice(1).map((t, i) => `${tokens[i]}_${t}`)];
  for (const feature of features) {
    const h = hashString(feature);
    const sign = (hashString(feature, 0x9e3779b9) & 1) === 0 ? 1 : -1;
    out[h % dim] = out[h % dim]! + sign;
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += out[i]! * out[i]!;
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[i] = out[i]! * scale;
  }
  return out;
}
