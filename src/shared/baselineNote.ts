/** How a baseline note starts when the zero-shot LM is the reference; the page labels the
 *  chart's line by it. Its own module so the page can read it without loading tfjs. */
export const ZERO_SHOT_NOTE = 'the pretrained LM scoring each label zero-shot'
