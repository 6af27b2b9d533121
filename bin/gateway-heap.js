// V8 sizes its heap for the machine it finds: on a desktop the young generation grows to 32 MB
// and the old one waits long before collecting. A gateway's heap is a few tens of MB, and its
// work is many small short-lived objects (a packet, a reading), so the young generation stays at
// its first size (1 MB semi-spaces; 2 MB with the unit's --min-semi-space-size=2, which only the
// command line can set) and the old one is collected when it has grown by a third: ~15 MB less at
// start and under load, for the same CPU (docs/benchmarks.md, memory). The launcher (tend.js) and
// the memory bench (test/bench/memory.ts) call this before tend's code loads: once it has loaded,
// the young generation has grown already. TEND_V8_HEAP=default leaves V8's own sizing.
import v8 from 'node:v8';

export function sizeHeapForGateway() {
  if (process.env.TEND_V8_HEAP === 'default') return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=30');
}
