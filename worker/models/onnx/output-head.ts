/**
 * The graph's outputs from the network's last layer, with `predict`'s labels:
 * `prediction` ([N]: the value, or the class label as a string) and, for classification,
 * `probabilities` ([N, classes], in the order of the model's `classes` metadata).
 */
import { DEFAULT_THRESHOLD, type TaskKind } from '../../contract/vocabulary.js';
import type { GraphBuilder } from './graph.js';

/**
 * The outputs. A binary model predicts its positive class (classes[1]) where p > `threshold`, as
 * `predict` does: the threshold frozen at the refit (model-files.ts decisionThresholdOf), 0.5 without one.
 */
export function addOutputs(
  graph: GraphBuilder,
  network: string,
  task: TaskKind,
  classes: readonly string[],
  threshold = DEFAULT_THRESHOLD,
): void {
  const flat = () => graph.int64s('flat_shape', [-1]);
  if (task === 'regression') {
    graph.node('Reshape', [network, flat()], {}, { output: 'prediction' });
    graph.output('prediction', 'float', [null]);
    return;
  }
  let classIndex: string;
  if (task === 'binary') {
    // The network gives p(positive class) = p(classes[1]) as [N, 1].
    const complement = graph.node('Sub', [graph.floats('one', [1], []), network]);
    graph.node('Concat', [complement, network], { axis: 1 }, { output: 'probabilities' });
    const positive = graph.node('Greater', [network, graph.floats('decision_threshold', [threshold], [])]);
    classIndex = graph.node('Reshape', [graph.node('Cast', [positive], { to: 7 /* INT64 */ }), flat()]);
  } else {
    graph.node('Identity', [network], {}, { output: 'probabilities' });
    // select_last_index=0: ties go to the first class, as in `predict`.
    classIndex = graph.node('ArgMax', ['probabilities'], { axis: 1, keepdims: 0, select_last_index: 0 });
  }
  graph.node('Gather', [graph.strings('class_labels', classes), classIndex], { axis: 0 }, { output: 'prediction' });
  graph.output('prediction', 'string', [null]);
  graph.output('probabilities', 'float', [null, classes.length]);
}
