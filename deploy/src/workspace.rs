//! The snapcycle source tree, for the one command that needs it: `deploy` without `--artifact`
//! builds the Lambda zip from it with cargo-lambda. The binary does not remember where it was
//! built: it looks where it is told, then in the current directory and its parents, then beside
//! its own executable (`target/debug/snapcycle`).

use std::path::{Path, PathBuf};

/// The package whose `bootstrap` the tree must hold.
const LAMBDA_PACKAGE: &str = "crates/snapcycle-lambda/Cargo.toml";

/// The workspace root: `flag` if given (and valid), else the nearest ancestor of the current
/// directory, or of this executable, that holds the Lambda package. `Err` says what is needed.
pub(crate) fn find(flag: Option<&Path>, needed_for: &str) -> Result<PathBuf, String> {
    if let Some(dir) = flag {
        return if is_workspace(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(format!(
                "--workspace {}: no {LAMBDA_PACKAGE} there; give the snapcycle repository's root",
                dir.display()
            ))
        };
    }
    let from_cwd = std::env::current_dir().ok();
    let from_exe = std::env::current_exe().ok();
    [from_cwd, from_exe]
        .into_iter()
        .flatten()
        .find_map(|start| start.ancestors().find(|d| is_workspace(d)).map(Path::to_path_buf))
        .ok_or_else(|| {
            format!(
                "{needed_for} needs the snapcycle source tree (the repository holding {LAMBDA_PACKAGE}); \
                 run it inside the repository or pass --workspace PATH"
            )
        })
}

fn is_workspace(dir: &Path) -> bool {
    dir.join(LAMBDA_PACKAGE).is_file() && dir.join("Cargo.toml").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_repository_from_inside_it_and_refuses_a_wrong_flag() {
        let root = find(None, "deploy").expect("the tests run inside the repository");
        assert!(root.join(LAMBDA_PACKAGE).is_file());
        let err = find(Some(Path::new("/")), "deploy").unwrap_err();
        assert!(err.contains("--workspace /") && err.contains(LAMBDA_PACKAGE), "{err}");
    }
}
