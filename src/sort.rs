//! The crate's one stable sort. Each `slice::sort_by` instantiation adds ~4 KiB of wasm (issue
//! #15), so every sort goes through here, and std's sort is instantiated once, on indices.

use std::cmp::Ordering;

/// The stable sorting permutation of `len` items compared by `cmp`: `order[k]` is the index of
/// the item that belongs at position `k`.
#[inline(never)]
fn permutation(len: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Moves `items` into `order` in place (`items[k]` becomes the old `items[order[k]]`), one
/// cycle of the permutation at a time.
#[inline(never)]
fn apply(order: &[usize], swap: &mut dyn FnMut(usize, usize)) {
    let mut placed = vec![false; order.len()];
    for start in 0..order.len() {
        let mut k = start;
        while placed.get(k) == Some(&false) {
            if let Some(done) = placed.get_mut(k) {
                *done = true;
            }
            match order.get(k) {
                Some(&j) if j != start => {
                    swap(k, j);
                    k = j;
                }
                _ => break,
            }
        }
    }
}

/// Sorts `items` stably by `cmp`: what `items.sort_by(cmp)` does.
pub fn sort_by<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let order = {
        let view: &[T] = items;
        permutation(view.len(), &mut |a, b| match (view.get(a), view.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    apply(&order, &mut |a, b| items.swap(a, b));
}

/// Sorts `items` stably by `key`: what `items.sort_by_key(key)` does.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` stably: what `items.sort()` does.
pub fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_std_and_keeps_equal_items_in_order() {
        let mut seed = 0x2545_f491_u32;
        for len in 0..64 {
            let items: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    ((seed % 7) as u8, i)
                })
                .collect();
            let mut ours = items.clone();
            sort_by_key(&mut ours, |(k, _)| *k);
            let mut std = items.clone();
            std.sort_by_key(|(k, _)| *k);
            assert_eq!(ours, std, "len {len}");
            let mut ours = items.clone();
            sort(&mut ours);
            let mut std = items;
            std.sort();
            assert_eq!(ours, std, "len {len}");
        }
    }

    #[test]
    fn sorts_by_a_reversed_key() {
        let mut v = vec!["b", "a", "c", "a"];
        sort_by(&mut v, |x, y| y.cmp(x));
        assert_eq!(v, ["c", "b", "a", "a"]);
    }
}
