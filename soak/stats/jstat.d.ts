// The part of jstat (which ships no types) that the trend test uses: Student's t.
declare module 'jstat' {
  const jStat: {
    studentt: {
      cdf(t: number, dof: number): number;
      inv(p: number, dof: number): number;
    };
  };
  export default jStat;
}
