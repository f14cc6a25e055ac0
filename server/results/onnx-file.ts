/**
 * The bytes of `model.onnx` for a refit model folder, for `foldwise export` and the dashboard's
 * download. Reading the saved weights needs TensorFlow.js in this process: a deliberate exception
 * to "server imports only the worker's contract files" (as server/cli/predict.ts), loaded lazily
 * so that no other command or route ever loads TF.
 */
import { ConflictError } from '../errors.js';

/** The media type of an ONNX model file. */
export const ONNX_MEDIA_TYPE = 'application/octet-stream';

/**
 * Exports the model in `modelDir` as ONNX. `label`, when given, names the model in messages in
 * place of its folder (the dashboard does not show HTTP clients where its files are).
 * @throws {ConflictError} when the folder holds no valid model or one the exporter cannot express
 *   (the worker's ModelFileError message, e.g. ratings models).
 */
export async function onnxModelBytes(modelDir: string, label = modelDir): Promise<Uint8Array> {
  const { selectBackend } = await import('../../worker/backend.js');
  const { exportOnnx } = await import('../../worker/models/onnx/export.js');
  const { failureKindOf } = await import('../../worker/failures.js');
  const { tf } = await selectBackend();
  try {
    return await exportOnnx(tf, modelDir);
  } catch (error) {
    // The worker's one rule for what is a problem with the model files rather than a bug (worker/failures.ts).
    if (failureKindOf(error) === 'data') throw new ConflictError((error as Error).message.replaceAll(modelDir, label));
    throw error;
  }
}
