/**
 * A small builder for one ONNX graph: nodes, initializers, inputs and outputs, encoded with
 * onnx-proto (ONNX's own protobuf definitions) rather than by hand.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
/** An attribute value; integers are INT attributes, so a float attribute is written `{ float: x }`. */
export type Attribute = number | { readonly float: number } | string | readonly number[] | readonly string[];

/** ONNX element types this exporter uses. */
export const ELEMENT = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
};
export type ElementType = keyof typeof ELEMENT;

/** Operator sets the exported graphs import: ai.onnx 13 (Softmax on one axis) and ai.onnx.ml 2 (OneHotEncoder). */
export const OPSETS = [
  { domain: '', version: 13 },
  { domain: 'ai.onnx.ml', version: 2 },
] as const;
/** IR version 7 goes with opset 13. */
export const IR_VERSION = 7;
/**
 * Operators that need ai.onnx 20 (with IR version 9): a graph that uses one imports that opset
 * instead of 13, so the graphs without them still run on older runtimes.
 */
const OPSET_20_OPS: ReadonlySet<string> = new Set(['RegexFullMatch', 'StringSplit', 'StringConcat']);
const OPSET_20 = { version: 20, irVersion: 9 } as const;

const encoder = new TextEncoder();

export class GraphBuilder {
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  #counter = 0;
  #needsOpset20 = false;

  /** A fresh value name with a readable prefix. */
  name(prefix: string): string {
    return `${prefix}_${++this.#counter}`;
  }

  /** Declares a graph input or output; `null` in a shape is the batch dimension N. */
  input(name: string, type: ElementType, shape: readonly (number | null)[]): string {
    this.#inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElementType, shape: readonly (number | null)[]): void {
    this.#outputs.push(valueInfo(name, type, shape));
  }

  /** A float32 constant, stored as an initializer. */
  floats(prefix: string, values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.name(prefix);
    this.#initializers.push({ name, dataType: ELEMENT.float, dims: [...dims], floatData: Array.from(values) });
    return name;
  }

  int64s(prefix: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.name(prefix);
    this.#initializers.push({ name, dataType: ELEMENT.int64, dims: [...dims], int64Data: [...values] });
    return name;
  }

  strings(prefix: string, values: readonly string[]): string {
    const name = this.name(prefix);
    this.#initializers.push({ name, dataType: ELEMENT.string, dims: [values.length], stringData: values.map((v) => encoder.encode(v)) });
    return name;
  }

  /** Adds a node; returns its (single) output's name, or `output` when given. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    options: { output?: string; domain?: string } = {},
  ): string {
    const output = options.output ?? this.name(opType.toLowerCase());
    if (OPSET_20_OPS.has(opType)) this.#needsOpset20 = true;
    this.#nodes.push({
      opType,
      domain: options.domain ?? '',
      name: this.name(`node_${opType}`),
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  /** The model's bytes, with `metadata` as metadata_props. */
  encode(graphName: string, metadata: Record<string, string>): Uint8Array {
    const opset20 = this.#needsOpset20;
    const model = onnx.ModelProto.create({
      irVersion: opset20 ? OPSET_20.irVersion : IR_VERSION,
      producerName: 'foldwise',
      opsetImport: OPSETS.map((opset) => (opset.domain === '' && opset20 ? { ...opset, version: OPSET_20.version } : { ...opset })),
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: graphName,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElementType, shape: readonly (number | null)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT[type],
        shape: { dim: shape.map((dim) => (dim === null ? { dimParam: 'N' } : { dimValue: dim })) },
      },
    },
  };
}

function attribute(name: string, value: Attribute): onnxProto.onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: type.STRING, s: encoder.encode(value) };
  if (typeof value === 'number') return { name, type: type.INT, i: value };
  if ('float' in value) return { name, type: type.FLOAT, f: value.float };
  if (value.every((v) => typeof v === 'string'))
    return { name, type: type.STRINGS, strings: (value as string[]).map((v) => encoder.encode(v)) };
  return { name, type: type.INTS, ints: [...(value as number[])] };
}
