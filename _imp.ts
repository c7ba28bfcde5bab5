const mods = Deno.args;
const out: string[] = [];
let t = performance.now();
for (const m of mods) {
  await import(m);
  const n = performance.now();
  out.push(`${m.replace("./src/", "")}=${(n - t).toFixed(1)}`);
  t = n;
}
console.log(out.join(" "));
