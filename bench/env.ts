/** Environment variables set for a measurement and put back after it (the engines read theirs when a task starts). */

/** Sets environment variables; @returns a function that puts the previous values back. */
export function setEnv(values: Record<string, string>): () => void {
  const previous = Object.keys(values).map((key) => [key, process.env[key]] as const);
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of previous) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** `body` with `values` set, the previous values put back after it. */
export async function withEnv<T>(values: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const restore = setEnv(values);
  try {
    return await body();
  } finally {
    restore();
  }
}
