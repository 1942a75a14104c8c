/** Hugging Face models between the page and the worker (worker/hfModelHost.ts): look at a
 *  repo before downloading it, load it from the Hub or from chosen files, and the files kept
 *  in this browser. Part of ToWorker / FromWorker (protocol.ts). */

/** Where a repo's files come from: the Hub's resolve URLs under `baseUrl` (https://huggingface.co
 *  unless set: a mirror, or a local server in tests). */
export interface HfRepoRef {
  repo: string
  revision: string
  baseUrl?: string
}

export type HfCommand =
  | { type: 'hfProbe'; ref: HfRepoRef; batch: number; seq: number }
  /** loadId: the page's number for this load, said back in hfLoaded. */
  | { type: 'hfLoad'; loadId: number; source: { kind: 'hub'; ref: HfRepoRef } | { kind: 'files'; files: File[] } }
  | { type: 'hfListStored' }
  /** Deletes one stored revision's files (a row of the stored list); the repo's other revisions stay. */
  | { type: 'hfDeleteStored'; repo: string; revision: string }
  /** Set the loaded sequence classifier's own head aside: the next run trains a new one. */
  | { type: 'hfNewHead' }
  /** Name a loaded head's placeholder classes (LABEL_i): names[i] is the dataset's class for
   *  output i, as the person chose them in the page; the head is kept. */
  | { type: 'hfNameHeadClasses'; names: string[] }

/** One method's memory estimate for the probed model on this device. */
export interface HfMethodPlan {
  method: 'full' | 'freeze' | 'lora' | 'head'
  totalBytes: number
  /** Within this device's memory and (on WebGPU) its storage-buffer binding limit. */
  fits: boolean
  /** Why the binding limit refuses the method at this batch and sequence (as the training
   *  plan would), or null. */
  refusal: string | null
}

export interface HfProbe {
  repo: string
  revision: string
  modelType: string
  params: number
  files: { name: string; bytes: number | null; stored: boolean }[]
  /** Bytes still to download (files not kept in this browser yet). */
  downloadBytes: number
  totalBytes: number
  batch: number
  seq: number
  budgetBytes: number
  plans: HfMethodPlan[]
}

export interface HfStoredRepo {
  repo: string
  revision: string
  files: string[]
  bytes: number
  /** Every file a load reads is stored (or known not to exist): loading it needs no network.
   *  False for what a cut-off or refused download left. */
  whole: boolean
}

/** After an hfLoad that succeeded: whether its files were a model (now the loaded one) or a
 *  PEFT adapter applied to the loaded model, as the worker found in them (not from the names). */
export interface HfLoaded {
  type: 'hfLoaded'
  loadId: number
  loaded: 'model' | 'adapter'
}

export type HfEvent = { type: 'hfProbe'; probe: HfProbe } | { type: 'hfStored'; repos: HfStoredRepo[] } | HfLoaded

const TYPES: ReadonlySet<string> = new Set<HfCommand['type']>(['hfProbe', 'hfLoad', 'hfListStored', 'hfDeleteStored', 'hfNewHead', 'hfNameHeadClasses'])
export function isHfCommand(msg: { type: string }): msg is HfCommand {
  return TYPES.has(msg.type)
}
