/**
 * What two processes can get out of this machine's two cores, with no foldwise code in the way:
 * a fold's kernels (TensorFlow.js wasm/XNNPACK matrix products of a batch-128 step of the
 * reference MLP 30→64→32, plus a JavaScript elementwise pass like the engine's) run for a few
 * seconds in one process, then in two at once. The ratio bounds foldwise's 2-worker scaling:
 * on a virtual machine whose cores are shared, it is often well below 2.
 *
 *   node --import tsx bench/kernel-scaling.ts [--seconds 5]     # prints { single, pair, ratio }
 *   node --import tsx bench/kernel-scaling.ts --probe SECONDS    # one process: prints steps per second
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

async function probe(seconds: number): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  const x = tf.randomNormal([128, 31]);
  const w1 = tf.randomNormal([31, 65]);
  const w2 = tf.randomNormal([65, 33]);
  const activations = new Float32Array(128 * 65);
  const weights = new Float32Array(65 * 33).fill(0.1);
  let steps = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (let r = 0; r < 50; r++, steps++) {
      const h = tf.matMul(x, w1);
      const o = tf.matMul(h, w2);
      const hv = h.dataSync();
      for (let i = 0; i < hv.length; i++) activations[i] = Math.max(hv[i]!, 0);
      for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! * 0.999 + 1e-4 * activations[i % activations.length]!;
      o.dataSync();
      h.dispose();
      o.dispose();
    }
  }
  return steps / seconds;
}

function runProbe(seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--probe', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`kernel probe exited ${code}`))));
  });
}

/**
 * Steps per second of one process (the mean of one run before and one after the pair, so drift
 * falls on both sides), of two processes at once (summed), and their ratio.
 */
export async function kernelScaling(seconds = 5): Promise<{ single: number; pair: number; ratio: number }> {
  const before = await runProbe(seconds);
  const [a, b] = await Promise.all([runProbe(seconds), runProbe(seconds)]);
  const after = await runProbe(seconds);
  const single = (before + after) / 2;
  const pair = a + b;
  return { single, pair, ratio: pair / single };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = (flag: string) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined);
  const probeSeconds = at('--probe');
  if (probeSeconds !== undefined) console.log(await probe(probeSeconds));
  else console.log(JSON.stringify(await kernelScaling(at('--seconds') ?? 5)));
}
