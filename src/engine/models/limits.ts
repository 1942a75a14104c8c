/** The limits a model declares for the settings (ModelLimits): which methods it trains
 *  with, the largest LoRA rank each target allows, the longest sequence. Each model kind
 *  declares its own in its Body adapter (engine/bodies/); the `Tuning` the loop builds
 *  refuses the same things, and declaring them lets the page say which control to change,
 *  and to what, before a run. */
export { modelLimits } from '../bodies'
