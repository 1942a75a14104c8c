export function gpt2TokenizerFiles(): { tokenizerJson: object; tokenizerConfig: object }
