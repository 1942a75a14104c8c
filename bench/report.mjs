// Turns bench/run.mjs results into the targets check and a markdown report.
const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d))
const mb = (b) => (b === null || b === undefined ? '–' : (b / 1e6).toFixed(1))

/** The issue's targets, each with the numbers behind the verdict. */
export function targets(r) {
  const out = []
  const avail = r.backends.filter((b) => b.available)
  for (const b of avail) {
    const worst = b.methods.reduce((w, m) => (m.overheadVsLeanLoop > w.overheadVsLeanLoop ? m : w))
    out.push({
      target: `overheadVsFit ≤ 1.05 (studio loop / lean minimize loop, ${b.backend}, worst method)`,
      value: worst.overheadVsLeanLoop,
      met: worst.overheadVsLeanLoop <= 1.05,
      detail: b.methods.map((m) => `${m.method} ${f(m.overheadVsLeanLoop, 3)}`).join(', '),
    })
    if (b.fit) {
      const ratio = b.fit.studioEpochMs / b.fit.fitEpochMs
      out.push({
        target: `overheadVsFit ≤ 1.05 (studio head-only epoch / tf.sequential model.fit epoch, ${b.backend})`,
        value: ratio,
        met: ratio <= 1.05,
        detail: `${f(b.fit.studioEpochMs)} ms vs ${f(b.fit.fitEpochMs)} ms per epoch of ${b.fit.rows} rows, batch ${b.fit.batchSize}`,
      })
    }
    const full = b.methods.find((m) => m.method === 'full')
    const head = b.methods.find((m) => m.method === 'head')
    if (full && head) {
      const ratio = full.studioStepMs / head.studioStepMs
      out.push({
        target: `head-only ≥ 10× faster per epoch than full (${b.backend}, steady epochs; cache is built once per run)`,
        value: ratio,
        met: ratio >= 10,
        detail: `step ${f(full.studioStepMs)} ms vs ${f(head.studioStepMs, 2)} ms; one-off set-up (cache + baseline) full ${f(full.studioSetupMs, 0)} ms, head ${f(head.studioSetupMs, 0)} ms`,
      })
    }
  }
  if (r.app) {
    out.push({
      target: 'longestMainThreadTaskMs < 50 (real app, worker training)',
      value: r.app.longestMainThreadTaskMs ?? null,
      met: r.app.longestMainThreadTaskMs !== undefined && r.app.longestMainThreadTaskMs < 50,
      detail: r.app.error ?? `${r.app.longTasks} long tasks during a ${f(r.app.runSeconds, 0)} s run on ${r.app.backend}`,
    })
  }
  if (r.tensors) {
    out.push({
      target: `tensor count flat over a ${r.tensors.epochs}-epoch run (${r.tensors.backend})`,
      value: r.tensors.end - r.tensors.start,
      met: r.tensors.flat,
      detail: `start ${r.tensors.start}, after each epoch ${r.tensors.afterEpoch.join(' / ')}, end ${r.tensors.end}`,
    })
  }
  return out
}

export function markdownReport(r) {
  const L = []
  L.push(`# Benchmark ${r.startedAt}${r.quick ? ' (quick)' : ''}`, '')
  L.push(`${r.machine.cpus} × ${r.machine.cpuModel}, ${f(r.machine.memGB, 0)} GiB, Node ${r.machine.node}, Chromium ${r.machine.browser ?? '?'}; total ${f(r.seconds, 0)} s.`, '')
  for (const n of r.notes ?? []) L.push(`> ${n}`, '')
  L.push('## Targets', '', '| target | value | verdict | numbers |', '|---|---|---|---|')
  for (const t of r.targets) L.push(`| ${t.target} | ${typeof t.value === 'number' ? f(t.value, 3) : '–'} | ${t.met ? 'met' : '**not met**'} | ${t.detail} |`)
  L.push('')
  L.push('## Training throughput per backend and method', '')
  L.push('TinyGpt tiny-lm (4 blocks, d=128, vocab 2048) on the spam-ham sample, batch 8, 32 tokens, Adam, no dropout/clipping/decay (both loops).')
  L.push('"studio" = src/engine/train/fineTune.ts; "lean" = optimizer.minimize over the same variables and the same frozen-prefix cache, no events or metrics; the lean loop reads the loss every 8 steps and at the end, the studio asynchronously a group of steps at a time (src/engine/train/lossReads.ts); step times are means over the timed steps, medians over the runs.')
  L.push('GFLOP/s counts matrix products only (bench/page/flops.ts): forward 2·m·n·k, + weight gradient where the weight trains, + input gradient where gradients flow.', '')
  L.push('| backend | matmul GFLOP/s (256 / 512) | method | trainable params | cached blocks | MFLOP/sample | studio step ms | lean step ms | studio/lean | samples/s | achieved GFLOP/s | set-up ms | resident MB | step peak MB |')
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const b of r.backends) {
    if (!b.available) {
      L.push(`| ${b.backend} | – | not available: ${String(b.note).replace(/\|/g, '/').slice(0, 120)} | | | | | | | | | | | |`)
      continue
    }
    for (const m of b.methods) {
      L.push(`| ${b.backend} | ${f(b.matmul.n256, 2)} / ${f(b.matmul.n512, 2)} | ${m.method} | ${m.trainableParams.toLocaleString('en')} | ${m.cachedBlocks} | ${f(m.flopsPerSample / 1e6, 1)} | ${f(m.studioStepMs, 1)} | ${f(m.referenceStepMs, 1)} | ${f(m.overheadVsLeanLoop, 3)} | ${f(m.samplesPerSec, 1)} | ${f(m.gflops, 2)} | ${f(m.studioSetupMs, 0)} | ${mb(m.residentBytes)} | ${mb(m.stepPeakBytes)} |`)
    }
  }
  L.push('')
  L.push('"resident MB" = largest tf.memory().numBytes between steps of the studio run (model, cache, optimizer state); "step peak MB" = tf.profile peakBytes of one lean-loop step (activations included).')
  const ua = r.backends.filter((b) => b.available).map((b) => `${b.backend} ${b.uaMemoryBytes ? mb(b.uaMemoryBytes) + ' MB' : 'n/a'}`)
  L.push(`performance.measureUserAgentSpecificMemory() after each backend's runs: ${ua.join(', ')}.`, '')
  L.push('## model.fit comparison (head-only)', '')
  L.push('A tf.sequential dense softmax head fitted with model.fit on pooled features computed once, vs the studio\'s head-only path (which caches the same pooled features); epochs 2-3 timed, both epochs include a validation pass on the same 16 rows (model.fit through validationData).', '')
  L.push('| backend | rows | batch | steps/epoch | model.fit epoch ms | studio epoch ms | ratio | studio first epoch ms (incl. feature cache) |', '|---|---|---|---|---|---|---|---|')
  for (const b of r.backends.filter((x) => x.available && x.fit)) {
    L.push(`| ${b.backend} | ${b.fit.rows} | ${b.fit.batchSize} | ${b.fit.stepsPerEpoch} | ${f(b.fit.fitEpochMs)} | ${f(b.fit.studioEpochMs)} | ${f(b.fit.studioEpochMs / b.fit.fitEpochMs, 2)} | ${f(b.fit.studioFirstEpochMs, 0)} |`)
  }
  L.push('')
  L.push('## Other figures', '')
  if (r.checkpoint) L.push(`- Checkpoint to IndexedDB (${r.checkpoint.via}): ${f(r.checkpoint.megabytes, 1)} MB, save ${f(r.checkpoint.saveMBps)} MB/s, load ${f(r.checkpoint.loadMBps)} MB/s.`)
  if (r.parsing) {
    const p = r.parsing
    L.push(`- Dataset parsing (${p.where}): ${f(p.megabytes, 0)} MB CSV, ${p.ok ? `${p.rows.toLocaleString('en')} rows` : `error: ${p.error}`}, ${f(p.seconds, 1)} s = ${f(p.mbPerSec, 1)} MB/s; peak RSS ${f(p.peakRssMB, 0)} MB (+${f(p.rssGrowthMB, 0)} MB), heap+buffers growth ${f(p.peakHeapGrowthMB, 0)} MB.`)
  }
  if (r.tensors) L.push(`- Tensors (${r.tensors.backend}, method ${r.tensors.method}, defaults, ${r.tensors.epochs} epochs): start ${r.tensors.start}, after each epoch ${r.tensors.afterEpoch.join(' / ')}, end ${r.tensors.end}.`)
  if (r.app) L.push(r.app.error ? `- Real app: failed: ${r.app.error}` : `- Real app (${r.app.url}) on ${r.app.backend}: run ${f(r.app.runSeconds, 0)} s, ${r.app.longTasks} long tasks, longest ${f(r.app.longestMainThreadTaskMs, 0)} ms.`)
  L.push('')
  if (r.images) imagesReport(L, r.images)
  return L.join('\n')
}

/** Issue 4: 10,000 images through the real app, with memory before, during and after. */
function imagesReport(L, im) {
  L.push(`## ${im.count.toLocaleString('en')} images (issue 4: memory)`, '')
  if (im.error) {
    L.push(`Failed: ${im.error}`, '')
    return
  }
  L.push(`Via ${im.via}; backend ${im.backend}. Generated 32×32 PNGs (Google emoji from emoji-datasource-google, 5 categories, shifted/scaled/tinted), zip ${mb(im.zipBytes)} MB; the page reported: ${/[\d,]+ images kept, [\d.]+ [KMG]B/.exec(im.summary ?? '')?.[0] ?? '?'}. Default settings otherwise (validation split 0.2, batch 16); backend ${im.backend}, one worker thread.`, '')
  L.push('"renderer RSS" = resident memory of the renderer process (page + worker, /proc); "tf MB" = tf.memory().numBytes in the worker; "UA memory" = performance.measureUserAgentSpecificMemory() (JS heaps of page and worker); peaks are sampled about once a second.', '')
  L.push('"images/s" = all images / wall seconds of the phase (a run decodes every image once: baseline, feature cache or training, validation).', '')
  L.push('| phase | wall s | images/s | peak renderer RSS MB | peak tf MB (tensors) | UA memory at end MB | renderer RSS after MB | tf MB after |', '|---|---|---|---|---|---|---|---|')
  const after = (a) => `${mb(a?.rendererRssBytes)} | ${mb(a?.tf?.numBytes)}`
  L.push(`| before upload | – | – | – | – | ${mb(im.before?.uaMemoryBytes)} | ${after(im.before)} |`)
  L.push(`| upload + check (${im.count} decodes, IndexedDB writes) | ${f(im.upload.result.seconds, 0)} | ${f(im.count / im.upload.result.seconds, 0)} | ${mb(im.upload.peakRendererRssBytes)} | ${mb(im.upload.peakTfBytes)} (${im.upload.peakTfTensors}) | ${mb(im.upload.uaMemoryAtEndBytes)} | ${after(im.afterUpload)} |`)
  for (const r of im.runs) {
    L.push(`| 1 epoch, ${r.label} | ${f(r.result.seconds, 0)} | ${f(im.count / r.result.seconds, 0)} | ${mb(r.peakRendererRssBytes)} | ${mb(r.peakTfBytes)} (${r.peakTfTensors}) | ${mb(r.uaMemoryAtEndBytes)} | ${after(r.after)} |`)
  }
  L.push('')
  L.push(`IndexedDB: ${mb(im.indexedDbBytes)} MB more in navigator.storage.estimate() after the upload (zip ${mb(im.zipBytes)} MB). Results: ${im.runs.map((r) => `${r.label}: ${String(r.result.status).trim()}`).join('; ')}.`, '')
}
