// MoveNet Lightning reference: pad the frame with zeros to a centred square (side = its
// longer side, an odd excess after), resize 192x192 (tf.image.resizeBilinear), cast to
// int32; the graph decodes its own heat maps ('Identity': per keypoint y, x as shares of the
// square, score). Results: per COCO keypoint [x, y, score], x and y in frame pixels.
const SIZE = 192;

export async function run(tf, model, frame) {
  const [, height, width] = frame.shape;
  const side = Math.max(height, width);
  const top = Math.floor((side - height) / 2);
  const left = Math.floor((side - width) / 2);
  const input = tf.tidy(() => {
    const padding = [[0, 0], [top, side - height - top], [left, side - width - left], [0, 0]];
    const padded = tf.pad(frame, padding);
    return tf.cast(tf.image.resizeBilinear(padded, [SIZE, SIZE]), 'int32');
  });
  const output = model.execute(input, 'Identity');
  const rows = (await output.array())[0][0];
  const results = rows.map(([y, x, score]) => [x * side - left, y * side - top, score]);
  return { raw: { Identity: output }, results };
}
