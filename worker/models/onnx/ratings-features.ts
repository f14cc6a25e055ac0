/**
 * The inputs of a ratings model's graph and the `features` value built from them, the way
 * recsys/predict.ts builds that input:
 * - an id found in the side table saved with the model takes its row of that table, encoded at
 *   export time by foldwise's own encoder (the graph holds the encoded table and an id → row
 *   LabelEncoder);
 * - any other id (a user or item that is new to the model) is encoded from the row's raw side
 *   feature inputs, one per side column and named as the column: numeric float [N, 1] (NaN:
 *   missing, encoded as the training mean); categorical string [N, 1]; multi string [N, 1] with
 *   the labels separated by `|` (`Drama|Comedy`). A category or label the training part never
 *   saw encodes as zeros. Cells are matched as predict matches them, spaces around a cell or a
 *   label ignored (RegexFullMatch, ai.onnx 20). For an id in the table those inputs are not
 *   read: pass empty strings (NaN).
 */
import { ModelFileError } from '../model-files.js';
import type { SavedSide } from '../../recsys/preprocessing.js';
import { encodedWidth, encodeSide, type FittedSideColumn, LABEL_SEPARATOR, sideTableFromJson } from '../../recsys/side-features.js';
import type { ElementType, GraphBuilder } from './graph.js';

/** ONNX's FLOAT element type, as Cast's `to` attribute. */
const CAST_TO_FLOAT = 1;

/**
 * The graph's inputs by name: a column that two sides read (or that is also an id column) is
 * one input, as it is one cell of a predict row.
 */
export class RatingsInputs {
  readonly #types = new Map<string, ElementType>();
  readonly #graph: GraphBuilder;
  readonly #modelDir: string;

  constructor(graph: GraphBuilder, modelDir: string) {
    this.#graph = graph;
    this.#modelDir = modelDir;
  }

  /** The input `name` ([N, 1] of `type`), declared on first use. */
  get(name: string, type: ElementType): string {
    const declared = this.#types.get(name);
    if (declared === undefined) {
      this.#types.set(name, type);
      return this.#graph.input(name, type, [null, 1]);
    }
    if (declared !== type)
      throw new ModelFileError(`${this.#modelDir}: column ${JSON.stringify(name)} is read both as ${declared} and as ${type}`);
    return name;
  }

  /** Input names in declaration order. */
  names(): string[] {
    return [...this.#types.keys()];
  }
}

/**
 * Maps an id ([N, 1] string) to its row among `keys` ([N, 1] int64: `values[k]` for `keys[k]`,
 * `fallback` for any other id).
 * @throws {ModelFileError} when an id is listed twice (a look-up table must be a function).
 */
export function addIdLookup(
  graph: GraphBuilder,
  id: string,
  keys: readonly string[],
  values: readonly number[],
  fallback: number,
  where: string,
): string {
  if (new Set(keys).size !== keys.length) throw new ModelFileError(`${where}: an id is listed twice`);
  return graph.node('LabelEncoder', [id], { keys_strings: keys, values_int64s: values, default_int64: fallback }, { domain: 'ai.onnx.ml' });
}

/**
 * One side's encoded features for the ids in `id` ([N, 1] string): [N, width] float, or null
 * when the side has no features.
 */
export function addSideFeatures(graph: GraphBuilder, side: SavedSide, id: string, inputs: RatingsInputs, modelDir: string): string | null {
  const width = encodedWidth(side.encoder);
  if (width === 0) return null;
  const table = sideTableFromJson(side.table);
  const n = table.ids.length;
  // Row n is a zero row for ids outside the table; Where then takes their raw encoding.
  const encoded = new Float32Array((n + 1) * width);
  encoded.set(encodeSide(side.encoder, table));
  const prefix = side.encoder.prefix;
  const row = addIdLookup(
    graph,
    id,
    table.ids,
    table.ids.map((_, e) => e),
    n,
    `${modelDir}: the ${prefix}s' side table`,
  );
  const gathered = graph.node('Gather', [graph.floats(`${prefix}_features`, encoded, [n + 1, width]), row], { axis: 0 });
  const fromTable = graph.node('Flatten', [gathered], { axis: 1 });
  const inTable = graph.node('Less', [row, graph.int64s(`${prefix}_table_rows`, [n], [])]);
  return graph.node('Where', [inTable, fromTable, addRawFeatures(graph, side.encoder.columns, inputs)]);
}

/** The raw inputs encoded by the fitted columns: [N, width] float. */
function addRawFeatures(graph: GraphBuilder, columns: readonly FittedSideColumn[], inputs: RatingsInputs): string {
  const blocks = columns.flatMap((column): string[] => {
    if (column.kind === 'numeric') {
      const x = inputs.get(column.name, 'float');
      const centred = graph.node('Sub', [x, graph.floats(`${column.name}_mean`, [column.mean], [])]);
      const z = graph.node('Div', [centred, graph.floats(`${column.name}_std`, [column.std], [])]);
      return [graph.node('Where', [graph.node('IsNaN', [x]), graph.floats('missing', [0], []), z])];
    }
    if (column.categories.length === 0) return [];
    const x = inputs.get(column.name, 'string');
    return column.categories.map((category) =>
      graph.node('Cast', [graph.node('RegexFullMatch', [x], { pattern: matchPattern(column.kind, category) })], { to: CAST_TO_FLOAT }),
    );
  });
  return blocks.length === 1 ? blocks[0]! : graph.node('Concat', blocks, { axis: 1 });
}

/**
 * RE2 pattern of a cell that holds `category`: the whole cell (categorical) or one of its
 * `|`-separated labels (multi), with surrounding whitespace.
 */
function matchPattern(kind: 'categorical' | 'multi', category: string): string {
  const literal = `\\s*${category.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}\\s*`;
  const separator = `\\${LABEL_SEPARATOR}`;
  return kind === 'categorical' ? literal : `(?s)(?:.*${separator})?${literal}(?:${separator}.*)?`;
}
