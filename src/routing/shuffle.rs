//! `simple-shuffle`: a weighted random pick by `weight`, else `rpm`, else `tpm`, else uniform.

use crate::config::Deployment;

/// The weight LiteLLM gives a deployment: the first of weight/rpm/tpm that any candidate sets.
fn weights(candidates: &[&Deployment]) -> Option<Vec<f64>> {
    let pickers: [fn(&Deployment) -> Option<f64>; 3] = [
        |d| d.weight,
        |d| d.rpm.map(|v| v as f64),
        |d| d.tpm.map(|v| v as f64),
    ];
    pickers.iter().find_map(|pick| {
        candidates
            .iter()
            .any(|d| pick(d).is_some())
            .then(|| candidates.iter().map(|d| pick(d).unwrap_or(0.0)).collect())
    })
}

/// Picks an index into `candidates`; `random` is uniform in `[0, 1)`. `None` when empty.
pub fn pick(candidates: &[&Deployment], random: f64) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let n = candidates.len();
    if let Some(w) = weights(candidates) {
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            let mut target = random.clamp(0.0, 1.0) * total;
            for (i, weight) in w.iter().enumerate() {
                if target < *weight {
                    return Some(i);
                }
                target -= weight;
            }
            // Rounding left us past the end: the last deployment with weight wins.
            return w.iter().rposition(|x| *x > 0.0);
        }
    }
    Some(((random.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1))
}
