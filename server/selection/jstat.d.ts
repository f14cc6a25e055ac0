/** The part of jstat (which ships no types) that foldwise uses: Student's t distribution. */
declare module 'jstat' {
  const jStat: {
    readonly studentt: {
      /** P(T ≤ x) for Student's t with `dof` degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
  };
  export default jStat;
}
