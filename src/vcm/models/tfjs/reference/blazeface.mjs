// BlazeFace full-range reference: pad the frame with black on the right or bottom to a square,
// resize to 256x256 (tf.image.resizeBilinear), scale to [-1, 1]; decode each of the 896 anchors
// (stride 16: 16x16 cells x 2, then stride 32: 8x8 cells x 6, centred in their cells) as box
// centre = anchor + regressor[0..1], size = regressor[2..3] (input pixels), score = sigmoid;
// keep scores >= 0.5, merge by weighted NMS at IoU 0.3, scale to frame pixels, clip.
import { iou } from './nanodet.mjs';
const SIZE = 256;
const GRIDS = [[16, 2], [32, 6]];
const SCORES = ['Identity', 'Identity_1'];
const REGRESSORS = ['Identity_2', 'Identity_3'];
const THRESHOLD = 0.5;
const NMS_IOU = 0.3;

function anchors() {
  const out = [];
  for (const [stride, perCell] of GRIDS) {
    const cells = SIZE / stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) out.push([(x + 0.5) * stride, (y + 0.5) * stride]);
      }
    }
  }
  return out;
}

export async function run(tf, model, frame) {
  const [, height, width] = frame.shape;
  const side = Math.max(height, width);
  const input = tf.tidy(() => {
    const square = tf.pad(frame, [[0, 0], [0, side - height], [0, side - width], [0, 0]]);
    const resized = tf.image.resizeBilinear(square, [SIZE, SIZE]);
    return tf.sub(tf.div(resized, 127.5), 1);
  });
  const names = [...SCORES, ...REGRESSORS];
  const outputs = model.execute(input, names);
  const raw = Object.fromEntries(names.map((name, i) => [name, outputs[i]]));
  const logits = [];
  const regressors = [];
  for (let g = 0; g < GRIDS.length; g++) {
    logits.push(...(await raw[SCORES[g]].array())[0].map((row) => row[0]));
    regressors.push(...(await raw[REGRESSORS[g]].array())[0]);
  }
  const centres = anchors();
  const candidates = [];
  for (let i = 0; i < centres.length; i++) {
    const score = 1 / (1 + Math.exp(-logits[i]));
    if (score < THRESHOLD) continue;
    const [dx, dy, w, h] = regressors[i];
    const cx = centres[i][0] + dx;
    const cy = centres[i][1] + dy;
    candidates.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score });
  }
  const scale = side / SIZE;
  const results = weightedNms(candidates, NMS_IOU).map(({ box, score }) => ({
    box: box.map((v, j) => Math.min(Math.max(v * scale, 0), j % 2 ? height : width)),
    score,
  }));
  return { raw, results };
}

// Each best remaining candidate absorbs those overlapping it by IoU > threshold into their
// score-weighted mean box; the merged face keeps the best score.
function weightedNms(candidates, threshold) {
  let rest = [...candidates].sort((a, b) => b.score - a.score);
  const kept = [];
  while (rest.length) {
    const best = rest[0];
    const group = rest.filter((c) => c === best || iou(best.box, c.box) > threshold);
    const total = group.reduce((sum, c) => sum + c.score, 0);
    const box = [0, 1, 2, 3].map((j) => group.reduce((sum, c) => sum + c.box[j] * c.score, 0) / total);
    kept.push({ box, score: best.score });
    rest = rest.filter((c) => !group.includes(c));
  }
  return kept;
}
