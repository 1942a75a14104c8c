/** What an evaluation measures. The engine produces these; the protocol re-exports them to
 *  the page, which only ever sees them as data. */
export interface Metrics {
  loss: number
  accuracy?: number // 0..1
  macroF1?: number
  perplexity?: number
  mae?: number // regression: mean absolute error, in the target's units
  rmse?: number // regression: root mean squared error, in the target's units
  confusion?: number[][] // [truth][prediction]
  tasks?: TaskMetrics[] // multitask: one entry per label column; the fields above are their means (confusion: first task)
  preference?: PreferenceMetrics // DPO: the implicit rewards (accuracy is then the preference accuracy)
}

/** DPO on preference pairs: r = β·(log π(answer) − log π_ref(answer)); log-probabilities summed over answer tokens. */
export interface PreferenceMetrics {
  rewardAccuracy: number // share of pairs with r_chosen > r_rejected
  rewardMargin: number // mean r_chosen − r_rejected
  chosenReward: number
  rejectedReward: number
  chosenLogProb: number // mean policy log-probability of the chosen answers
  rejectedLogProb: number
}

export interface TaskMetrics {
  name: string // the label column
  weight: number // its weight in the summed loss
  loss: number
  accuracy: number
  macroF1: number
}
