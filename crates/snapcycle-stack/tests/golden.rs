//! `templates/snapcycle.json` is exactly what the default spec renders, so the checked-in template
//! never drifts from the code. When it is stale, rewrite it with
//! `cargo run -p snapcycle -- render -o templates/snapcycle.json`, or from this test with
//! `SNAPCYCLE_BLESS=1 cargo test -p snapcycle-stack --test golden`.

use std::path::PathBuf;

use snapcycle_stack::{render_string, StackSpec};

const REWRITE: &str = "cargo run -p snapcycle -- render -o templates/snapcycle.json \
                       (or SNAPCYCLE_BLESS=1 cargo test -p snapcycle-stack --test golden)";

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates/snapcycle.json")
}

fn bless_requested() -> bool {
    std::env::var_os("SNAPCYCLE_BLESS").is_some_and(|value| value == "1")
}

/// Line `index` of `lines`, or a marker past the end.
fn line<'a>(lines: &[&'a str], index: usize) -> &'a str {
    lines.get(index).copied().unwrap_or("<end of file>")
}

#[test]
fn checked_in_template_is_the_default_render() {
    let expected = render_string(&StackSpec::default()).expect("the default spec renders");
    let path = golden_path();

    if bless_requested() {
        std::fs::create_dir_all(path.parent().expect("the path has a parent")).expect("create templates/");
        std::fs::write(&path, &expected).expect("write templates/snapcycle.json");
        eprintln!("rewrote {}", path.display());
        return;
    }

    let actual = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => panic!("cannot read {} ({err}); create it with: {REWRITE}", path.display()),
    };
    if actual == expected {
        return;
    }
    let actual_lines: Vec<&str> = actual.lines().collect();
    let expected_lines: Vec<&str> = expected.lines().collect();
    if actual_lines == expected_lines {
        panic!(
            "templates/snapcycle.json is stale: its lines match the default render but its line \
             endings or final newline do not\nRewrite it with: {REWRITE}"
        );
    }
    let first_difference = actual_lines
        .iter()
        .zip(&expected_lines)
        .position(|(a, e)| a != e)
        .unwrap_or(actual_lines.len().min(expected_lines.len()));
    panic!(
        "templates/snapcycle.json is stale: it differs from the default render from line {}\n  \
         file:     {}\n  rendered: {}\nRewrite it with: {REWRITE}",
        first_difference + 1,
        line(&actual_lines, first_difference),
        line(&expected_lines, first_difference),
    );
}
