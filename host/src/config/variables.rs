//! Application and component variables: defaults, `SPIN_VARIABLE_*` overrides, `{{ name }}` templates.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, bail};

use super::manifest::VariableDecl;

/// Environment variable prefix that overrides application variables, as in Spin.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Resolved application variables.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

impl AppVariables {
    /// Resolves declared variables against `env` (name → value of the process environment).
    pub fn resolve(
        decls: &BTreeMap<String, VariableDecl>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut values = BTreeMap::new();
        for (name, decl) in decls {
            let field = format!("variables.{name}");
            check_name(name).with_context(|| field.clone())?;
            if decl.required && decl.default.is_some() {
                bail!("{field}: a variable cannot be both `required` and have a `default`");
            }
            let env_name = format!("{ENV_PREFIX}{}", name.to_ascii_uppercase());
            let value = match (env(&env_name), &decl.default) {
                (Some(v), _) => v,
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    bail!("{field}: required variable has no value (set {env_name})")
                }
            };
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    /// Expands `{{ name }}` templates in `template`; `field` names the manifest field for errors.
    pub fn expand(&self, template: &str, field: &str) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("{field}: unterminated `{{{{` in {template:?}");
            };
            let name = after[..end].trim();
            match self.values.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("{field}: unknown application variable {name:?}"),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The variables one component can read through `spin:variables`.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables {
    values: HashMap<String, String>,
}

/// Why a `spin:variables/variables.get` call failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    InvalidName(String),
    Undefined(String),
}

impl ComponentVariables {
    pub fn resolve(
        app: &AppVariables,
        decls: &BTreeMap<String, String>,
        component: &str,
    ) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        for (name, template) in decls {
            let field = format!("component.{component}.variables.{name}");
            check_name(name).with_context(|| field.clone())?;
            values.insert(name.clone(), app.expand(template, &field)?);
        }
        Ok(Self { values })
    }

    /// Every name and value, sorted by name.
    pub fn sorted(&self) -> Vec<(&str, &str)> {
        let mut all: Vec<_> = self
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.sort();
        all
    }

    pub fn get(&self, name: &str) -> Result<String, Lookup> {
        if check_name(name).is_err() {
            return Err(Lookup::InvalidName(format!(
                "invalid variable name {name:?}"
            )));
        }
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| Lookup::Undefined(format!("no variable named {name:?}")))
    }
}

/// Spin's rule: lowercase ASCII letters, digits and underscores, starting with a letter.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "invalid variable name {name:?}: use lowercase letters, digits and '_', starting with a letter"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls(entries: &[(&str, Option<&str>, bool)]) -> BTreeMap<String, VariableDecl> {
        entries
            .iter()
            .map(|(n, d, r)| {
                let decl = VariableDecl {
                    default: d.map(str::to_string),
                    required: *r,
                    ..Default::default()
                };
                (n.to_string(), decl)
            })
            .collect()
    }

    #[test]
    fn env_overrides_default_and_templates_expand() {
        let app = AppVariables::resolve(&decls(&[("model", Some("tiny"), false)]), |k| {
            (k == "SPIN_VARIABLE_MODEL").then(|| "base".to_string())
        })
        .unwrap();
        assert_eq!(app.expand("m-{{ model }}-x", "f").unwrap(), "m-base-x");
        assert!(
            app.expand("{{ nope }}", "f")
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn required_without_value_is_an_error() {
        let err = AppVariables::resolve(&decls(&[("key", None, true)]), |_| None).unwrap_err();
        assert!(err.to_string().contains("variables.key"), "{err}");
    }
}
