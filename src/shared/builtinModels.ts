/** Models that ship with the studio (files under public/, fetched relative to the app). */
export interface BuiltinModel {
  id: string
  title: string
  url: string // relative to the app's base URL
  kind: 'text' | 'image'
  description: string
}

export const BUILTIN_MODELS: readonly BuiltinModel[] = [
  {
    id: 'tiny-lm',
    title: 'Tiny LM (1M parameters, English)',
    url: 'models/tiny-lm/model.json',
    kind: 'text',
    description:
      'A 4-layer GPT-style decoder (d=128, 128-token context, 2,048-token byte-level BPE) pretrained in the browser ' +
      'on Moby-Dick and 20th-21st century State of the Union addresses (public domain). Small enough to fine-tune on a laptop CPU; ' +
      'writes English-looking text, not facts.',
  },
  {
    id: 'emoji-cnn',
    title: 'Emoji CNN (170k parameters, 32×32 images)',
    url: 'models/emoji-cnn/model.json',
    kind: 'image',
    description:
      'A MobileNet-style CNN (depthwise-separable blocks, no BatchNorm) pretrained to tell the category of an emoji from its ' +
      'picture, on Google Noto Emoji (Apache-2.0) and Twemoji (CC-BY 4.0) images. Reads 32×32 RGB; suited to icons and simple drawings, not photos.',
  },
]

export function builtinModel(id: string): BuiltinModel | undefined {
  return BUILTIN_MODELS.find((m) => m.id === id)
}
