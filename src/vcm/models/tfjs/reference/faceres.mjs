// HSE FaceRes reference, as Human's face pipeline feeds its description model: the frame is
// the face's square cut (vcm.models.faceres.cut_square: the enlarged, squared face box, black
// outside the original frame), resized to 192x192 (FaceMesh's input, the face tensor's size
// in Human) sampling its corner pixels exactly, then tf.image.resizeBilinear to 224x224, RGB
// 0-255 (Human divides by 255 after the crop and multiplies by 255 before the model: left
// out). Human cuts with tf.image.cropAndResize, which samples a box as resizeBilinear with
// alignCorners does; the latter is used here because TF.js's cropAndResize of a whole image
// gives the extrapolation value (0) to a last sample that float rounding puts past the edge
// (489 / 191 * 191 > 489). Raw: the input, the 1024-d descriptor 'global_pooling/Mean', and
// the gender and age heads.
const CROP = 192;
const SIZE = 224;
const OUTPUTS = ['global_pooling/Mean', 'gender_pred/Sigmoid', 'age_pred/Softmax'];

export async function run(tf, model, frame) {
  const input = tf.tidy(() => {
    const face = tf.image.resizeBilinear(frame, [CROP, CROP], true);
    return tf.image.resizeBilinear(face, [SIZE, SIZE]);
  });
  const outputs = model.execute(input, OUTPUTS);
  const raw = { input, ...Object.fromEntries(OUTPUTS.map((name, i) => [name, outputs[i]])) };
  return { raw, results: null };
}
