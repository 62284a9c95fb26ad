//! Wildcard model groups: a `model_name` with one `*` (`"openai/*"`, `"anthropic/claude-*"`,
//! the catch-all `"*"`) serves every requested model it matches, and the part the `*`
//! matched replaces the `*` of the deployment's `litellm_params.model`.

use super::provider_names::split_model;

/// A wildcard `model_name`, compiled: the literal text before and after its one `*`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub name: String,
    prefix: String,
    suffix: String,
    /// LiteLLM's specificity: (length, complexity) of the pattern's regex (see [`rank`]).
    pub rank: (usize, usize),
}

/// Whether a `model_name` (or model) is a wildcard pattern.
pub fn is_pattern(name: &str) -> bool {
    name.contains('*')
}

impl Pattern {
    /// Compiles a wildcard `model_name`; the message says what is wrong (the caller adds
    /// the field path).
    pub fn parse(name: &str) -> Result<Pattern, String> {
        let Some((prefix, suffix)) = name.split_once('*') else {
            return Err(format!("{name:?} has no \"*\""));
        };
        if suffix.contains('*') {
            return Err(format!(
                "{name:?} has more than one \"*\": a wildcard model_name has exactly one (\"openai/*\", \"anthropic/claude-*\", \"*\")"
            ));
        }
        if prefix.starts_with('/') || prefix.contains("//") {
            return Err(format!(
                "{name:?} has an empty provider prefix before \"/\" (write \"openai/*\", or \"*\" for every model)"
            ));
        }
        Ok(Pattern {
            name: name.to_string(),
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            rank: rank(name),
        })
    }

    /// The part of `model` the `*` matches, when the whole of `model` matches and that part
    /// is not empty.
    pub fn capture<'a>(&self, model: &'a str) -> Option<&'a str> {
        let rest = model.strip_prefix(self.prefix.as_str())?;
        let segment = rest.strip_suffix(self.suffix.as_str())?;
        (!segment.is_empty()).then_some(segment)
    }

    /// The catch-all `"*"`.
    pub fn is_catch_all(&self) -> bool {
        self.prefix.is_empty() && self.suffix.is_empty()
    }

    /// The provider every match names, when the pattern fixes one (`"openai/*"` -> openai).
    pub fn provider(&self) -> Option<&str> {
        self.prefix.split_once('/').map(|(p, _)| p)
    }
}

/// LiteLLM's order of patterns (`PatternUtils.calculate_pattern_specificity`): the regex
/// `re.escape(pattern).replace("\\*", "(.*)")` is measured; longer first, then the one with
/// more of `* + ? \ ^ $ | ( )`; ties keep configuration order.
pub fn rank(pattern: &str) -> (usize, usize) {
    // Python's `re.escape` escapes these (and whitespace).
    const ESCAPED: &[char] = &[
        '(', ')', '[', ']', '{', '}', '?', '+', '-', '|', '^', '$', '\\', '.', '&', '~', '#', ' ',
        '\t', '\n', '\r', '\u{b}', '\u{c}',
    ];
    let mut regex = String::with_capacity(pattern.len() * 2);
    for c in pattern.chars() {
        if c == '*' {
            regex.push_str("(.*)");
        } else {
            if ESCAPED.contains(&c) {
                regex.push('\\');
            }
            regex.push(c);
        }
    }
    let complexity = regex
        .chars()
        .filter(|c| matches!(c, '*' | '+' | '?' | '\\' | '^' | '$' | '|' | '(' | ')'))
        .count();
    (regex.chars().count(), complexity)
}

/// A deployment `model` with a `*` (`"openai/*"`, `"*"`): the upstream model is made per
/// request by replacing the `*` with what the group's pattern matched.
#[derive(Debug, Clone, PartialEq)]
pub struct WildcardModel {
    /// `litellm_params.model` as written.
    pub template: String,
    /// `custom_llm_provider`, when set.
    pub explicit_provider: Option<String>,
    /// The provider is inferred per request (no `provider/` prefix, no custom_llm_provider).
    pub inferred: bool,
}

impl WildcardModel {
    /// Checks a wildcard `litellm_params.model`; `Ok((provider, model))` as the deployment
    /// carries them until a request fills the `*` (provider `""` when inferred per request).
    pub fn parse(
        template: &str,
        explicit_provider: Option<&str>,
    ) -> Result<(WildcardModel, String, String), String> {
        if template.matches('*').count() > 1 {
            return Err(format!(
                "{template:?} has more than one \"*\": a wildcard model has exactly one (\"openai/*\", \"*\")"
            ));
        }
        if template.starts_with('/') {
            return Err(format!(
                "{template:?} has an empty provider prefix before \"/\""
            ));
        }
        let star = template.find('*').unwrap_or(0);
        let slash = template.find('/');
        let fixed = explicit_provider.is_some() || slash.is_some_and(|s| s < star);
        let (provider, model, inferred) = if fixed {
            let (p, m) = split_model(template, explicit_provider)?;
            (p, m, false)
        } else {
            (String::new(), template.to_string(), true)
        };
        Ok((
            WildcardModel {
                template: template.to_string(),
                explicit_provider: explicit_provider.map(str::to_string),
                inferred,
            },
            provider,
            model,
        ))
    }

    /// `(provider, upstream model)` for the part of the requested model the pattern matched.
    pub fn resolve(&self, segment: &str) -> Result<(String, String), String> {
        let full = self.template.replacen('*', segment, 1);
        split_model(&full, self.explicit_provider.as_deref())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn capture_matches_the_whole_name() {
        let p = Pattern::parse("openai/*").unwrap();
        assert_eq!(p.capture("openai/gpt-4.1"), Some("gpt-4.1"));
        assert_eq!(p.capture("openai/"), None);
        assert_eq!(p.capture("anthropic/claude"), None);
        let p = Pattern::parse("anthropic/claude-*").unwrap();
        assert_eq!(
            p.capture("anthropic/claude-3-5-haiku-latest"),
            Some("3-5-haiku-latest")
        );
        assert_eq!(p.capture("anthropic/other"), None);
        let p = Pattern::parse("*-latest").unwrap();
        assert_eq!(p.capture("claude-latest"), Some("claude"));
        // LiteLLM's re.match is anchored only at the start; llmux matches the whole name.
        assert_eq!(p.capture("claude-latest-x"), None);
        let p = Pattern::parse("*").unwrap();
        assert!(p.is_catch_all());
        assert_eq!(p.capture("anything/at all"), Some("anything/at all"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Pattern::parse("openai/*/*")
            .unwrap_err()
            .contains("more than one"));
        assert!(Pattern::parse("**").unwrap_err().contains("more than one"));
        assert!(Pattern::parse("/*")
            .unwrap_err()
            .contains("empty provider prefix"));
        assert!(WildcardModel::parse("openai/**", None)
            .unwrap_err()
            .contains("more than one"));
        assert!(WildcardModel::parse("/*", None)
            .unwrap_err()
            .contains("empty provider prefix"));
        assert!(WildcardModel::parse("nope/*", None).is_err());
    }

    #[test]
    fn rank_is_litellms_specificity() {
        // Values of PatternUtils.calculate_pattern_specificity(re.escape(p).replace(r"\*", "(.*)")).
        assert_eq!(rank("*"), (4, 3));
        assert_eq!(rank("openai/*"), (11, 3));
        assert_eq!(rank("anthropic/claude-*"), (22, 4));
        assert_eq!(rank("gpt-4.1*"), (13, 5));
    }

    #[test]
    fn wildcard_models_resolve_per_request() {
        let (w, p, m) = WildcardModel::parse("openai/*", None).unwrap();
        assert_eq!((p.as_str(), m.as_str(), w.inferred), ("openai", "*", false));
        assert_eq!(
            w.resolve("gpt-4.1").unwrap(),
            ("openai".into(), "gpt-4.1".into())
        );
        let (w, p, _) = WildcardModel::parse("*", None).unwrap();
        assert!(w.inferred && p.is_empty());
        assert_eq!(w.resolve("claude-haiku-4-5").unwrap().0, "anthropic");
        assert_eq!(
            w.resolve("openai/gpt-4.1").unwrap(),
            ("openai".into(), "gpt-4.1".into())
        );
        assert!(w.resolve("no-such-model-anywhere").is_err());
        let (w, p, _) = WildcardModel::parse("*", Some("openai")).unwrap();
        assert!(!w.inferred && p == "openai");
        assert_eq!(
            w.resolve("my-model").unwrap(),
            ("openai".into(), "my-model".into())
        );
    }
}
