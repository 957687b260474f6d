//! Where things are in the repository: its root, the programs (the user's under `apps/`, the
//! tests' and the benchmarks' under `tests/programs/`), and the output folders.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

/// The repository checkout the boot tool works on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace this tool was compiled in (the parent of the `boot` package).
    pub fn locate() -> Result<Workspace> {
        let boot_package = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = boot_package.parent().ok_or_else(|| {
            anyhow!(
                "the boot package at {} has no parent",
                boot_package.display()
            )
        })?;
        Workspace::at(root)
    }

    /// The workspace rooted at `root`, which must hold a `Cargo.toml`.
    pub fn at(root: &Path) -> Result<Workspace> {
        let manifest = root.join("Cargo.toml");
        if !manifest.is_file() {
            return Err(anyhow!(
                "{} is not a Cargo workspace (no Cargo.toml)",
                root.display()
            ));
        }
        Ok(Workspace {
            root: root.to_path_buf(),
        })
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cargo's target folder, under which every output of the boot tool goes: the value of
    /// `CARGO_TARGET_DIR` when it is set (a relative path counts from the repository root), else
    /// `target/` in the repository. So two checkouts, or two people sharing one with different
    /// `CARGO_TARGET_DIR`s, never build into or boot from each other's files.
    pub fn target_dir(&self) -> PathBuf {
        target_dir_for(&self.root, env::var_os("CARGO_TARGET_DIR"))
    }

    /// Cargo's target folder for the guest build of `what` (`kernel` or `apps`).
    ///
    /// The guest builds use their own target folders so that a build started from inside
    /// `cargo test` or `cargo run` never waits for the lock the outer cargo holds.
    pub fn guest_target_dir(&self, what: &str) -> PathBuf {
        self.target_dir().join("guest").join(what)
    }

    /// Where disk images and ramdisks are written.
    pub fn images_dir(&self) -> PathBuf {
        self.target_dir().join("images")
    }

    /// The package names of the user's programs, which go in the file system's `/bin`: each
    /// `apps/*/Cargo.toml` of a package with a binary, sorted by name.
    pub fn app_packages(&self) -> Result<Vec<String>> {
        self.program_packages(APPS_DIR)
    }

    /// The package names of the test and benchmark programs (`tests/programs/*`), sorted by
    /// name; a library there, such as `test-support`, is linked into them, not one.
    pub fn test_program_packages(&self) -> Result<Vec<String>> {
        self.program_packages(TEST_PROGRAMS_DIR)
    }

    /// The packages with a binary in the folders of `folder` (relative to the root), by name.
    fn program_packages(&self, folder: &str) -> Result<Vec<String>> {
        let dir = self.root.join(folder);
        let mut names = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(error) => return Err(error).context(format!("reading {}", dir.display())),
        };
        for entry in entries {
            let manifest = entry?.path().join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            let text = fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let has_main = manifest.with_file_name("src").join("main.rs").is_file();
            if !is_program(&text, has_main)
                .with_context(|| format!("reading {}", manifest.display()))?
            {
                continue;
            }
            let name = package_name(&text)
                .with_context(|| format!("finding the package name in {}", manifest.display()))?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }
}

/// Where the user's programs are, relative to the repository root.
pub const APPS_DIR: &str = "apps";
/// Where the test and benchmark programs are, relative to the repository root.
pub const TEST_PROGRAMS_DIR: &str = "tests/programs";

/// The target folder of the workspace at `root` when `CARGO_TARGET_DIR` is `variable`.
fn target_dir_for(root: &Path, variable: Option<OsString>) -> PathBuf {
    match variable.filter(|value| !value.is_empty()) {
        Some(value) => root.join(value),
        None => root.join("target"),
    }
}

/// Whether the package of a `Cargo.toml` builds a program: it names a `[[bin]]`, or it has a
/// `src/main.rs` (`has_main`), which Cargo builds as one.
pub fn is_program(manifest_text: &str, has_main: bool) -> Result<bool> {
    let manifest: toml::Table = toml::from_str(manifest_text)?;
    let has_bin = manifest
        .get("bin")
        .and_then(|bins| bins.as_array())
        .is_some_and(|bins| !bins.is_empty());
    Ok(has_bin || has_main)
}

/// The `package.name` of a `Cargo.toml`.
pub fn package_name(manifest_text: &str) -> Result<String> {
    let manifest: toml::Table = toml::from_str(manifest_text)?;
    manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no [package] name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_name() {
        let text = "[package]\nname = \"hostile-null\"\nedition.workspace = true\n\n\
                    [[bin]]\nname = \"other\"\ntest = false\n";
        assert_eq!(package_name(text).unwrap(), "hostile-null");
    }

    #[test]
    fn a_package_with_a_binary_is_a_program_and_a_library_is_not() {
        let program = "[package]\nname = \"hello\"\n\n[[bin]]\nname = \"hello\"\ntest = false\n";
        let library = "[package]\nname = \"test-support\"\n\n[lib]\ntest = false\n";
        assert!(is_program(program, false).unwrap());
        assert!(is_program(library, true).unwrap());
        assert!(!is_program(library, false).unwrap());
        assert!(is_program("not toml [", false).is_err());
    }

    #[test]
    fn this_repository_lists_its_programs_apart_from_its_tests_and_not_its_libraries() {
        let workspace = Workspace::locate().unwrap();
        let apps = workspace.app_packages().unwrap();
        let tests = workspace.test_program_packages().unwrap();
        assert!(apps.iter().any(|name| name == "sh"));
        assert!(tests.iter().any(|name| name == "usertests"));
        assert!(
            !apps
                .iter()
                .any(|name| name == "usertests" || name.starts_with("hostile"))
        );
        assert!(!tests.iter().any(|name| name == "test-support"));
    }

    #[test]
    fn a_manifest_without_package_is_an_error() {
        assert!(package_name("[workspace]\nmembers = []\n").is_err());
        assert!(package_name("not toml [").is_err());
    }

    #[test]
    fn locates_this_repository() {
        let workspace = Workspace::locate().unwrap();
        assert!(workspace.root().join("boot").join("Cargo.toml").is_file());
        let target = workspace.target_dir();
        assert_eq!(workspace.images_dir(), target.join("images"));
        assert_eq!(
            workspace.guest_target_dir("kernel"),
            target.join("guest").join("kernel")
        );
    }

    #[test]
    fn the_target_folder_follows_cargo_target_dir() {
        let root = Path::new("/repo");
        assert_eq!(target_dir_for(root, None), Path::new("/repo/target"));
        assert_eq!(
            target_dir_for(root, Some(OsString::new())),
            Path::new("/repo/target")
        );
        assert_eq!(
            target_dir_for(root, Some(OsString::from("/elsewhere/t"))),
            Path::new("/elsewhere/t")
        );
        assert_eq!(
            target_dir_for(root, Some(OsString::from("out"))),
            Path::new("/repo/out")
        );
    }
}
