// Page side: start the benchmark worker, relay its result to window.__result for run.mjs.
const q = new URLSearchParams(location.search);
const out = document.getElementById('out');
const worker = new Worker('./worker.js', { type: 'module' });
worker.onmessage = (ev) => {
  window.__result = ev.data;
  out.textContent = JSON.stringify(ev.data, null, 2);
};
worker.onerror = (ev) => {
  window.__result = { error: `worker error: ${ev.message || 'failed to start (module worker / import)'}` };
  out.textContent = window.__result.error;
};
worker.postMessage({ runs: Number(q.get('runs') || 7), runs128: Number(q.get('runs128') || 5), warmup: Number(q.get('warmup') ?? 2) });
