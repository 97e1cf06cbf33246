// NanoDet-m reference: resize 416x416 (tf.image.resizeBilinear), BGR, NanoDet mean/std, NCHW;
// decode each stride's distance distributions (softmax expectation over 11 bins, x stride,
// from the cell centre), keep scores >= 0.25, class-aware greedy NMS at IoU 0.45, then clip
// the boxes to the frame.
const SIZE = 416;
const STRIDES = [8, 16, 32];
const OUTPUTS = [['Identity', 'Identity_3'], ['Identity_1', 'Identity_4'], ['Identity_2', 'Identity_5']];

export async function run(tf, model, frame) {
  const input = tf.tidy(() => {
    const resized = tf.image.resizeBilinear(frame, [SIZE, SIZE]);
    const bgr = tf.reverse(resized, -1);
    const norm = tf.div(tf.sub(bgr, [103.53, 116.28, 123.675]), [57.375, 57.12, 58.395]);
    return tf.transpose(norm, [0, 3, 1, 2]);
  });
  const names = OUTPUTS.flat();
  const outputs = model.execute(input, names);
  const raw = Object.fromEntries(names.map((name, i) => [name, outputs[i]]));
  const [, height, width] = frame.shape;
  const candidates = [];
  for (let k = 0; k < STRIDES.length; k++) {
    const stride = STRIDES[k];
    const cells = SIZE / stride;
    const scores = await raw[OUTPUTS[k][0]].array();
    const dists = await raw[OUTPUTS[k][1]].array();
    for (let i = 0; i < cells * cells; i++) {
      const row = scores[0][i];
      let best = 0;
      for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
      if (row[best] < 0.25) continue;
      const side = [];
      for (let s = 0; s < 4; s++) {
        const logits = dists[0][i].slice(s * 11, s * 11 + 11);
        const top = Math.max(...logits);
        const e = logits.map((v) => Math.exp(v - top));
        const sum = e.reduce((a, b) => a + b, 0);
        side.push(e.reduce((a, v, b) => a + v * b, 0) / sum * stride);
      }
      const cx = ((i % cells) + 0.5) * stride;
      const cy = (Math.floor(i / cells) + 0.5) * stride;
      const sx = width / SIZE;
      const sy = height / SIZE;
      const box = [(cx - side[0]) * sx, (cy - side[1]) * sy, (cx + side[2]) * sx, (cy + side[3]) * sy];
      candidates.push({ box, score: row[best], class_id: best });
    }
  }
  return { raw, results: clip(nms(candidates, 0.45), width, height) };
}

// boxes clipped to the frame after NMS
export function clip(detections, width, height) {
  return detections.map((d) => ({ ...d, box: d.box.map((v, j) => Math.min(Math.max(v, 0), j % 2 ? height : width)) }));
}

export function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export function nms(candidates, threshold) {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept = [];
  for (const c of sorted) {
    if (!kept.some((k) => k.class_id === c.class_id && iou(k.box, c.box) > threshold)) kept.push(c);
  }
  return kept;
}
