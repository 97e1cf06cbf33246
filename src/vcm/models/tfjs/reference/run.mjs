// Reference run of a TF.js graph model with the pure-JavaScript CPU backend of TensorFlow.js.
// Usage: node run.mjs MODEL MODEL_JSON FRAME_RAW WIDTH HEIGHT OUT_JSON
// FRAME_RAW holds HEIGHT x WIDTH x 3 uint8 RGB, given to the module as a float32 tensor
// [1, HEIGHT, WIDTH, 3] of 0-255 values. MODEL names a module beside this file
// (MODEL.mjs) whose `run(tf, model, frame)` prepares the frame as the model expects, runs
// it and decodes the outputs; it returns {raw: {name: tf.Tensor}, results}. OUT_JSON gets
// {raw: {name: {shape, data (base64 float32)}}, results}.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(join(process.env.TFJS_PREFIX, 'node_modules', 'x.js'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

const [modelName, modelJson, framePath, width, height, outPath] = process.argv.slice(2);
await tf.setBackend('cpu');
const spec = JSON.parse(readFileSync(modelJson, 'utf8'));
const shards = spec.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dirname(modelJson), p))));
const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
const weightSpecs = spec.weightsManifest.flatMap((group) => group.weights);
const model = await converter.loadGraphModel(tf.io.fromMemory({
  modelTopology: spec.modelTopology, weightSpecs, weightData, format: spec.format,
  generatedBy: spec.generatedBy, convertedBy: spec.convertedBy, signature: spec.signature,
}));
const pixels = Int32Array.from(readFileSync(framePath));
const frame = tf.cast(tf.tensor4d(pixels, [1, Number(height), Number(width), 3], 'int32'), 'float32');
const { run } = await import(`./${modelName}.mjs`);
const { raw, results } = await run(tf, model, frame);
const out = { raw: {}, results };
for (const [name, tensor] of Object.entries(raw)) {
  const data = Float32Array.from(await tensor.data());
  out.raw[name] = { shape: tensor.shape, data: Buffer.from(data.buffer).toString('base64') };
}
writeFileSync(`${outPath}.part`, JSON.stringify(out));
renameSync(`${outPath}.part`, outPath);
