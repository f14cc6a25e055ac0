/**
 * The search benchmark's early stopping and fold cutting (bench/search.ts), as spec YAML: bench/search-strategies.ts
 * --pruned gives its TPE searches the very same, to time them like with like against that grid.
 */
export const BENCH_EARLY_STOPPING = '{ monitor: val_auc, patience: 3, minDelta: 0.001 }';
export const BENCH_FOLD_CUT = '{ minFolds: 2, margin: 0.01 }';
