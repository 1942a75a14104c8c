/** The alerts of Hugging Face loads that failed (a missing tokenizer.json, a repo not found, a
 *  cut model.safetensors), by where they happened: the load command or a model or adapter file
 *  named in the error. Once a model or adapter has loaded they describe attempts that are over,
 *  and stayed above the loaded model until dismissed one by one. Other notices stay. */
import type { Notice } from './store'

const LOAD_PLACES = /^(?:hfLoad|hfProbe|config\.json|tokenizer\.json|tokenizer_config\.json|generation_config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d+-of-\d+\.safetensors|adapter_config\.json|adapter_model\.safetensors|[^\s/]+\.zip)$/

export function withoutFailedLoads(notices: readonly Notice[]): Notice[] {
  return notices.filter((n) => n.kind !== 'error' || !n.where || !LOAD_PLACES.test(n.where))
}
