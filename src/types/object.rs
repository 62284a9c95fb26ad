//! Out-of-line builders for JSON objects: `Put` and `obj!` make each of the hundreds of
//! body-building call sites a call, not an inlined key allocation, `to_value` and unwrap (#15).

use serde_json::{Map, Value};

/// Inserts into a JSON object by `&str` key, dropping any previous value.
pub trait Put {
    /// Sets `key` to `value`.
    fn put(&mut self, key: &str, value: Value);
}

impl Put for Map<String, Value> {
    #[inline(never)]
    fn put(&mut self, key: &str, value: Value) {
        self.insert(key.to_owned(), value);
    }
}

/// A JSON object of `pairs`, in order (what `obj!` expands to).
pub fn object<const N: usize>(mut pairs: [(&str, Value); N]) -> Value {
    object_from(&mut pairs)
}

#[inline(never)]
fn object_from(pairs: &mut [(&str, Value)]) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs.iter_mut() {
        map.insert((*key).to_owned(), std::mem::take(value));
    }
    Value::Object(map)
}

/// `obj!{"key": value, …}`: a JSON object whose values are anything `Value: From` (nest with
/// `obj!` and `vec!`); smaller code than `json!`, which serializes each value through `to_value`.
#[macro_export]
macro_rules! obj {
    ($($key:literal : $value:expr),* $(,)?) => {
        $crate::types::object::object([$(($key, ::serde_json::Value::from($value))),*])
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn obj_builds_the_same_object_as_json() {
        let name = String::from("f");
        assert_eq!(
            crate::obj! {"name": name, "n": 2u64, "ok": true, "tags": vec!["a"], "in": crate::obj!{}},
            json!({"name": "f", "n": 2, "ok": true, "tags": ["a"], "in": {}})
        );
    }
}
