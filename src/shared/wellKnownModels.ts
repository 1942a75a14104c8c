/** Public TensorFlow.js layers models a person can pick by name. They live on Google's
 *  storage, which sends CORS headers; the studio cannot reach them on offline machines,
 *  but loading goes through the same code as any URL. */
export interface WellKnownModel {
  title: string
  url: string
  note: string
}

const TFJS = 'https://storage.googleapis.com/tfjs-models/tfjs'

export const WELL_KNOWN_MODELS: readonly WellKnownModel[] = [
  { title: 'MobileNet v1 0.25, 224×224 (1.9 MB)', url: `${TFJS}/mobilenet_v1_0.25_224/model.json`, note: 'ImageNet classifier, 470k weights: the smallest, fine-tunes fast. Teachable Machine exports (model.json + weights.bin) load the same way, by URL or as files.' },
  { title: 'MobileNet v1 0.50, 224×224 (5.4 MB)', url: `${TFJS}/mobilenet_v1_0.50_224/model.json`, note: 'ImageNet classifier, 1.3M weights.' },
  { title: 'MobileNet v1 1.00, 224×224 (17 MB)', url: `${TFJS}/mobilenet_v1_1.0_224/model.json`, note: 'ImageNet classifier, 4.2M weights: the most accurate of these, slow to fine-tune on a CPU.' },
]
