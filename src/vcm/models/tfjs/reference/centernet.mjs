// CenterNet reference: resize 512x512 (tf.image.resizeBilinear), 0-255 RGB; the graph's own
// decoding ('tower_0/detections': x1, y1, x2, y2 in input pixels, score, class of the 100
// best heat-map peaks), scores >= 0.25, class-aware greedy NMS at IoU 0.45, boxes clipped.
import { clip, nms } from './nanodet.mjs';

const SIZE = 512;

export async function run(tf, model, frame) {
  const input = tf.image.resizeBilinear(frame, [SIZE, SIZE]);
  const names = ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections'];
  const outputs = await model.executeAsync(input, names);
  const raw = Object.fromEntries(names.map((name, i) => [name, outputs[i]]));
  const [, height, width] = frame.shape;
  const rows = (await raw['tower_0/detections'].array())[0];
  const candidates = rows.filter((r) => r[4] >= 0.25).map((r) => ({
    box: [r[0] * width / SIZE, r[1] * height / SIZE, r[2] * width / SIZE, r[3] * height / SIZE],
    score: r[4],
    class_id: r[5],
  }));
  return { raw, results: clip(nms(candidates, 0.45), width, height) };
}
