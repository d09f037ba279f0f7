//! Bad manifests fail at load with an error naming the field: each
//! `manifests/invalid/<case>.toml` sits beside `<case>.err`, text its error must contain.

use std::path::Path;

#[test]
fn invalid_manifests_are_rejected_with_a_named_field() {
    let dir = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/manifests/invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "expected invalid manifest cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let expected = std::fs::read_to_string(case.with_extension("err")).unwrap();
        let expected = expected.trim();
        match vox::App::load_with_env(case, |_| None)
            .and_then(|app| app.check_sources().map(|()| app))
        {
            Ok(_) => failures.push(format!(
                "{}: loaded, expected error containing {expected:?}",
                case.display()
            )),
            Err(e) => {
                let message = format!("{e:#}");
                if !message.contains(expected) {
                    failures.push(format!(
                        "{}: error {message:?} lacks {expected:?}",
                        case.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_project_manifest_parses() {
    let manifest = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../spin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let parsed = vox::config::manifest::Manifest::parse(&text).unwrap();
    assert!(parsed.component.contains_key("gateway"));
}
