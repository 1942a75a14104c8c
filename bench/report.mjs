// Turns bench/run.mjs results into the targets check and a markdown report.
const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d))
const mb = (b) => (b === null || b === undefined ? '–' : (b / 1e6).toFixed(1))
/** "1.012 [0.981–1.044]": the paired estimate and its 90 % interval (bench/page/stats.ts). */
const est = (e) => (e ? `${f(e.ratio, 3)}${Number.isNaN(e.lo ?? NaN) || e.lo === null ? '' : ` [${f(e.lo, 3)}–${f(e.hi, 3)}]`}` : '–')
const VERDICT = { met: 'met', 'not met': '**not met**', undecided: 'undecided (interval straddles the limit)' }
/** All met → met; any missed → not met; otherwise undecided. */
const overall = (vs) => (vs.every((v) => v === 'met') ? 'met' : vs.includes('not met') ? 'not met' : 'undecided')

/** The issue's targets, each with the numbers behind the verdict. */
export function targets(r) {
  const out = []
  for (const b of r.backends.filter((x) => x.available)) {
    for (const w of b.models ?? []) {
      if (w.check) {
        out.push({
          target: `a training step on ${b.backend} equals the cpu backend's (${w.id}: loss and every gradient)`,
          value: w.check.error ? null : w.check.worstGradRelError,
          verdict: !w.check.error && w.check.ok ? 'met' : 'not met',
          detail: w.check.error ?? `loss ${f(w.check.loss, 5)} vs ${f(w.check.cpuLoss, 5)}; worst gradient ${w.check.worstGradient}, relative error ${Number(w.check.worstGradRelError).toExponential(1)}; ${w.check.nonFinite} non-finite values`,
        })
      }
      out.push({
        target: `overheadVsFit ≤ 1.05: studio loop / lean minimize loop (${b.backend}, ${w.id}, every method)`,
        value: Math.max(...w.methods.map((m) => m.overhead.ratio)),
        verdict: overall(w.methods.map((m) => m.overhead.verdict)),
        detail: w.methods.map((m) => `${m.method} ${est(m.overhead)}`).join(', '),
      })
      if (w.fit && !w.fit.error) {
        out.push({
          target: `overheadVsFit ≤ 1.05: studio head-only epoch / tf.sequential model.fit epoch (${b.backend}, ${w.id})`,
          value: w.fit.overhead.ratio,
          verdict: w.fit.overhead.verdict,
          detail: `${est(w.fit.overhead)}; ${f(w.fit.studioEpochMs)} ms vs ${f(w.fit.fitEpochMs)} ms per epoch of ${w.fit.rows} rows, batch ${w.fit.batchSize}`,
        })
      }
      const full = w.methods.find((m) => m.method === 'full')
      const head = w.methods.find((m) => m.method === 'head')
      if (full && head) {
        const ratio = full.studioStepMs / head.studioStepMs
        out.push({
          target: `head-only ≥ 10× faster per epoch than full (${b.backend}, ${w.id}, steady epochs; the cache is built once per run)`,
          value: ratio,
          verdict: ratio >= 10 ? 'met' : 'not met',
          detail: `step ${f(full.studioStepMs)} ms vs ${f(head.studioStepMs, 2)} ms; one-off set-up (cache + baseline) full ${f(full.studioSetupMs, 0)} ms, head ${f(head.studioSetupMs, 0)} ms`,
        })
      }
    }
    if (b.layersFit && !b.layersFit.error) {
      out.push({
        target: `overheadVsFit ≤ 1.05: studio / model.fit, full fine-tuning of a tf.LayersModel (${b.backend})`,
        value: b.layersFit.overhead.ratio,
        verdict: b.layersFit.overhead.verdict,
        detail: `${est(b.layersFit.overhead)}; ${f(b.layersFit.studioEpochMs)} ms vs ${f(b.layersFit.fitEpochMs)} ms per epoch of ${b.layersFit.rows} images, batch ${b.layersFit.batchSize}`,
      })
    }
  }
  if (r.app) {
    out.push({
      target: 'longestMainThreadTaskMs < 50 (real app, worker training)',
      value: r.app.longestMainThreadTaskMs ?? null,
      verdict: r.app.longestMainThreadTaskMs !== undefined && r.app.longestMainThreadTaskMs < 50 ? 'met' : 'not met',
      detail: r.app.error ?? `worst of ${r.app.runs?.length ?? 1} one-epoch run${(r.app.runs?.length ?? 1) > 1 ? 's' : ''}: ${r.app.longTasks} long tasks (a ${f(r.app.runSeconds, 0)} s run) on ${r.app.backend}`,
    })
  }
  for (const t of [r.tensors ?? []].flat()) {
    out.push({
      target: `tensor count flat over a ${t.epochs}-epoch run (${t.backend}, ${t.model ?? 'tiny-lm'})`,
      value: t.end - t.start,
      verdict: t.flat ? 'met' : 'not met',
      detail: `start ${t.start}, after each epoch ${t.afterEpoch.join(' / ')}, end ${t.end}`,
    })
  }
  return out
}

export function markdownReport(r) {
  const L = []
  L.push(`# Benchmark ${r.startedAt}${r.quick ? ' (quick)' : ''}`, '')
  L.push(`${r.machine.cpus} × ${r.machine.cpuModel}, ${f(r.machine.memGB, 0)} GiB, Node ${r.machine.node}, Chromium ${r.machine.browser ?? '?'}; total ${f(r.seconds, 0)} s.`, '')
  for (const n of r.notes ?? []) L.push(`> ${n}`, '')
  L.push('## Targets', '')
  L.push('Ratios are paired: each studio run is compared with the reference runs just before and after it; the figure is their geometric mean and [lo–hi] its 90 % interval over the pairs. A ratio target is met when the whole interval is at or below the limit, missed when the whole interval is above it, and undecided otherwise.', '')
  L.push('| target | value | verdict | numbers |', '|---|---|---|---|')
  for (const t of r.targets) L.push(`| ${t.target} | ${typeof t.value === 'number' ? f(t.value, 3) : '–'} | ${VERDICT[t.verdict] ?? t.verdict} | ${t.detail} |`)
  L.push('')
  L.push('## Training throughput per backend, model and method', '')
  const described = new Map()
  for (const b of r.backends.filter((x) => x.available)) for (const w of b.models ?? []) described.set(w.id, w.describe)
  for (const [id, d] of described) L.push(`- **${id}**: ${d}.`)
  L.push('')
  L.push('Batch 8, Adam, no dropout/clipping/decay in both loops. "studio" = src/engine/train/fineTune.ts; "lean" = optimizer.minimize over the same variables and the same frozen-prefix cache, batches gathered on the device, losses read every 8 steps, no events or metrics; the studio reads losses asynchronously a group of steps at a time (src/engine/train/lossReads.ts). Step times are means over the timed steps, medians over the runs.')
  L.push('GFLOP/s counts matrix products (and the CNN\'s depthwise multiply-adds) only (bench/page/flops.ts): forward 2·m·n·k, + weight gradient where the weight trains, + input gradient where gradients flow.', '')
  L.push('| backend | matmul GFLOP/s (256 / 512) | model | method | trainable params | cached blocks | MFLOP/sample | studio step ms | lean step ms | studio/lean [90 %] | samples/s | achieved GFLOP/s | set-up ms | resident MB | step peak MB |')
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const b of r.backends) {
    if (!b.available) {
      L.push(`| ${b.backend} | – | – | not available: ${String(b.note).replace(/\|/g, '/').slice(0, 120)} | | | | | | | | | | | |`)
      continue
    }
    for (const w of b.models ?? []) {
      for (const m of w.methods) {
        L.push(`| ${b.backend} | ${f(b.matmul.n256, 2)} / ${f(b.matmul.n512, 2)} | ${w.id} | ${m.method} | ${m.trainableParams.toLocaleString('en')} | ${m.cachedBlocks} | ${f(m.flopsPerSample / 1e6, 1)} | ${f(m.studioStepMs, 1)} | ${f(m.referenceStepMs, 1)} | ${est(m.overhead)} | ${f(m.samplesPerSec, 1)} | ${f(m.gflops, 2)} | ${f(m.studioSetupMs, 0)} | ${mb(m.residentBytes)} | ${mb(m.stepPeakBytes)} |`)
      }
    }
  }
  L.push('')
  L.push('"resident MB" = largest tf.memory().numBytes between steps of the studio runs (model, cache, optimizer state); "step peak MB" = tf.profile peakBytes of one lean-loop step (activations included).')
  const ua = r.backends.filter((b) => b.available).map((b) => `${b.backend} ${b.uaMemoryBytes ? mb(b.uaMemoryBytes) + ' MB' : 'n/a'}`)
  L.push(`performance.measureUserAgentSpecificMemory() after each backend's runs: ${ua.join(', ')}.`, '')
  lowRankReport(L, r)
  L.push('## model.fit comparisons', '')
  L.push('Both sides train the same model on the same rows with the same batch size, fit and studio runs alternating; epochs after the first are timed, and every epoch of both includes a validation pass on the same rows (model.fit through validationData).')
  L.push('- *dense head on pooled features*: a tf.sequential dense softmax head fitted on features computed once, vs the studio\'s head-only path (which caches the same pooled features).')
  L.push('- *layers model*: full fine-tuning of a MobileNet-style tf.LayersModel without batch norm (bench/page/fitComparisons.ts) with a new softmax head: model.fit of the model vs the studio through LayersBody, the path a loaded layers model takes.', '')
  L.push('| backend | comparison | rows | batch | steps/epoch | model.fit epoch ms | studio epoch ms | studio/model.fit [90 %] | studio first epoch ms |', '|---|---|---|---|---|---|---|---|---|')
  for (const b of r.backends.filter((x) => x.available)) {
    for (const fit of [...(b.models ?? []).map((w) => w.fit), b.layersFit].filter(Boolean)) {
      if (fit.error) {
        L.push(`| ${b.backend} | failed: ${String(fit.error).replace(/\|/g, '/').slice(0, 200)} | | | | | | | |`)
        continue
      }
      L.push(`| ${b.backend} | ${fit.what} | ${fit.rows} | ${fit.batchSize} | ${fit.stepsPerEpoch} | ${f(fit.fitEpochMs)} | ${f(fit.studioEpochMs)} | ${est(fit.overhead)} | ${f(fit.studioFirstEpochMs, 0)} |`)
    }
  }
  L.push('')
  L.push('## Other figures', '')
  if (r.checkpoint) {
    const c = r.checkpoint
    L.push(`- Checkpoint (${c.via}; ${c.model} full fine-tuning, ${c.tensors} weight tensors and AdamW moments, ${c.backend}): ${f(c.megabytes, 1)} MB; read off the device ${f(c.readFromDeviceMs, 0)} ms; save ${f(c.saveMs, 0)} ms = ${f(c.saveMBps)} MB/s; load ${f(c.loadMs, 0)} ms = ${f(c.loadMBps)} MB/s; load + assign to the model ${f(c.restoreMBps)} MB/s.`)
  }
  if (r.csvUpload) {
    const c = r.csvUpload
    L.push(c.error ? `- CSV upload through the app: failed: ${c.error}` : `- Dataset parsing in the browser (${c.via}): ${f(c.megabytes, 0)} MB CSV, ${c.rows?.toLocaleString('en')} rows in ${f(c.seconds, 1)} s = **${f(c.mbPerSec, 1)} MB/s**; renderer RSS ${mb(c.rendererRssBeforeBytes)} MB before, peak ${mb(c.peakRendererRssBytes)} MB, ${mb(c.rendererRssAfterBytes)} MB after; JS heaps (page + worker) at the end ${mb(c.uaMemoryAtEndBytes)} MB; IndexedDB grew ${mb(c.indexedDbBytes)} MB; main thread meanwhile: ${c.longTasks} long tasks, longest ${f(c.longestMainThreadTaskMs, 0)} ms.`)
  }
  if (r.parsing) {
    const p = r.parsing
    L.push(`- The parser alone (${p.where}): ${f(p.megabytes, 0)} MB CSV, ${p.ok ? `${p.rows.toLocaleString('en')} rows` : `error: ${p.error}`}, ${f(p.seconds, 1)} s = ${f(p.mbPerSec, 1)} MB/s; peak RSS ${f(p.peakRssMB, 0)} MB (+${f(p.rssGrowthMB, 0)} MB), heap+buffers growth ${f(p.peakHeapGrowthMB, 0)} MB.`)
  }
  for (const t of [r.tensors ?? []].flat()) L.push(`- Tensors (${t.backend}, ${t.model ?? 'tiny-lm'}, method ${t.method}, defaults, ${t.epochs} epochs): start ${t.start}, after each epoch ${t.afterEpoch.join(' / ')}, end ${t.end}.`)
  if (r.app) {
    const runs = r.app.runs ?? []
    L.push(r.app.error ? `- Real app: failed: ${r.app.error}` : `- Real app (${r.app.url}) on ${r.app.backend}, worst of ${runs.length || 1} run${runs.length > 1 ? 's' : ''}: ${r.app.longTasks} long tasks, longest ${f(r.app.longestMainThreadTaskMs, 0)} ms${runs.length > 1 ? ` (per run: ${runs.map((x) => `${x.longTasks} / ${f(x.longestMainThreadTaskMs, 0)} ms in ${f(x.runSeconds, 0)} s`).join('; ')})` : ''}.`)
    runs.forEach((x, i) => {
      for (const t of x.traceTasks ?? []) L.push(`  - run ${i + 1}, trace task at +${f(t.atSec, 1)} s, ${f(t.ms, 0)} ms: ${t.inside.join(', ') || 'nothing inside it over 2 ms'}`)
    })
  }
  L.push('')
  if (r.images) imagesReport(L, r.images)
  return L.join('\n')
}

/** LoRA and frozen-body runs against full fine-tuning of the same model on the same backend. */
function lowRankReport(L, r) {
  const rows = []
  for (const b of r.backends.filter((x) => x.available)) {
    for (const w of b.models ?? []) {
      const full = w.methods.find((m) => m.method === 'full')
      if (!full) continue
      for (const m of w.methods.filter((x) => x.method !== 'full')) {
        rows.push(`| ${b.backend} | ${w.id} | ${m.method} | ${f((100 * m.trainableParams) / full.trainableParams, 2)} % | ${f(full.studioStepMs / m.studioStepMs, 1)}× | ${f(m.residentBytes / full.residentBytes, 2)}× | ${f(m.stepPeakBytes / full.stepPeakBytes, 2)}× |`)
      }
    }
  }
  if (!rows.length) return
  L.push('## LoRA and frozen bodies against full fine-tuning', '')
  L.push('| backend | model | method | trainable weights (of full) | step speed-up | resident memory | step peak memory |', '|---|---|---|---|---|---|---|', ...rows, '')
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
