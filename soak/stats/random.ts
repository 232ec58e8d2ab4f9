// A seeded generator for simulations (the tests' and the README's figures, and a soak self-test's
// synthetic series): the same seed gives the same numbers on every machine.

/** mulberry32 uniforms on [0, 1), Box–Muller standard normals, and stationary AR(1) noise. */
export function seeded(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  /** n values of e_t = phi·e_{t−1} + N(0, 1), started from the stationary distribution. */
  const ar1 = (n: number, phi: number) => {
    let e = normal() / Math.sqrt(1 - phi * phi);
    return Float64Array.from({ length: n }, () => {
      const v = e;
      e = phi * e + normal();
      return v;
    });
  };
  return { uniform, normal, ar1 };
}
