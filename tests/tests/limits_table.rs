//! The README's limits table tells the truth: each row names a constant by its file and name,
//! and the row's value is the constant's, evaluated from its definition in that file (the
//! constants it is made of are looked up in the same file, then in the rest of its crate's
//! `src`). A host test: it boots nothing.
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// One row of the table: the value as written, and where the constant is.
#[derive(Debug)]
struct Row {
    value: u64,
    file: String,
    name: String,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_owned()
}

/// The rows of the README's "Limits" section.
fn limit_rows(readme: &str) -> Vec<Row> {
    let start = readme
        .find("\n## Limits\n")
        .expect("the README has a Limits section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| limit "))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let [_, value, constant] = cells.as_slice() else {
                panic!("a limits row has three cells: {line}");
            };
            let digits: String = value
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ',')
                .filter(char::is_ascii_digit)
                .collect();
            let (file, name) = constant
                .split_once(": ")
                .unwrap_or_else(|| panic!("the constant cell is `FILE`: `NAME`: {line}"));
            Row {
                value: digits
                    .parse()
                    .unwrap_or_else(|_| panic!("the value cell starts with a number: {line}")),
                file: file.trim_matches('`').to_owned(),
                name: name.trim_matches('`').to_owned(),
            }
        })
        .collect()
}

/// The expression defining constant `name` in `text` (`const NAME: TYPE = EXPRESSION;`).
fn definition<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let pattern = format!("const {name}:");
    let at = text
        .match_indices(&pattern)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text[..at].ends_with(|c: char| c.is_whitespace() || c == ')'))?;
    let rest = &text[at + pattern.len()..];
    let expression = &rest[rest.find('=')? + 1..];
    Some(expression[..expression.find(';')?].trim())
}

/// Where the constants of one file are looked up: the file, then every `.rs` file of its
/// crate's `src` folder.
struct Scope {
    file: PathBuf,
    crate_sources: PathBuf,
}

impl Scope {
    fn of(root: &Path, file: &str) -> Scope {
        let sources = file
            .find("src/")
            .map_or_else(|| file.to_owned(), |at| file[..at + 3].to_owned());
        Scope {
            file: root.join(file),
            crate_sources: root.join(sources),
        }
    }

    fn value(&self, name: &str) -> u64 {
        let mut files = vec![self.file.clone()];
        files.extend(rust_files(&self.crate_sources));
        for file in files {
            let text = fs::read_to_string(&file)
                .unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
            if let Some(expression) = definition(&text, name) {
                return Evaluator::new(expression, self).expression();
            }
        }
        panic!("no constant {name} in {}", self.crate_sources.display());
    }
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Evaluates the integer constant expressions the constants are written with: literals,
/// other constants, `+ - * / <<`, parentheses and `as` casts.
struct Evaluator<'a> {
    tokens: Vec<String>,
    next: usize,
    scope: &'a Scope,
}

impl<'a> Evaluator<'a> {
    fn new(expression: &str, scope: &'a Scope) -> Evaluator<'a> {
        let mut tokens = Vec::new();
        let mut chars = expression.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c.is_alphanumeric() || c == '_' || c == ':' {
                let mut word = String::new();
                while let Some(&c) = chars
                    .peek()
                    .filter(|c| c.is_alphanumeric() || **c == '_' || **c == ':')
                {
                    word.push(c);
                    chars.next();
                }
                tokens.push(word);
            } else if c == '<' {
                chars.next();
                assert_eq!(chars.next(), Some('<'), "only << in {expression}");
                tokens.push("<<".to_owned());
            } else {
                tokens.push(c.to_string());
                chars.next();
            }
        }
        Evaluator {
            tokens,
            next: 0,
            scope,
        }
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.next).map(String::as_str)
    }

    fn take(&mut self) -> String {
        let token = self
            .tokens
            .get(self.next)
            .cloned()
            .expect("a complete expression");
        self.next += 1;
        token
    }

    /// Shifts, the loosest of the operators used.
    fn expression(&mut self) -> u64 {
        let mut value = self.sum();
        while self.peek() == Some("<<") {
            self.take();
            value <<= self.sum();
        }
        value
    }

    fn sum(&mut self) -> u64 {
        let mut value = self.product();
        while let Some(operator @ ("+" | "-")) = self.peek() {
            let is_plus = operator == "+";
            self.take();
            let operand = self.product();
            value = if is_plus {
                value + operand
            } else {
                value - operand
            };
        }
        value
    }

    fn product(&mut self) -> u64 {
        let mut value = self.cast();
        while let Some(operator @ ("*" | "/")) = self.peek() {
            let is_times = operator == "*";
            self.take();
            let operand = self.cast();
            value = if is_times {
                value * operand
            } else {
                value / operand
            };
        }
        value
    }

    fn cast(&mut self) -> u64 {
        let value = self.primary();
        while self.peek() == Some("as") {
            self.take();
            self.take();
        }
        value
    }

    fn primary(&mut self) -> u64 {
        let token = self.take();
        if token == "(" {
            let value = self.expression();
            assert_eq!(self.take(), ")");
            return value;
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            let digits: String = token
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '_')
                .filter(char::is_ascii_digit)
                .collect();
            return digits.parse().expect("a decimal literal");
        }
        let name = token.rsplit("::").next().expect("a name");
        self.scope.value(name)
    }
}

#[test]
fn every_limit_in_the_readme_is_its_constants_value() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).expect("reading README.md");
    let rows = limit_rows(&readme);
    assert!(rows.len() >= 30, "{} rows", rows.len());
    for name in [
        "DESCRIPTORS_MAX",
        "PIPES_MAX",
        "ENVIRONMENTS_MAX",
        "MESSAGE_WORDS",
    ] {
        assert!(rows.iter().any(|row| row.name == name), "no row for {name}");
    }
    for row in &rows {
        let actual = Scope::of(&root, &row.file).value(&row.name);
        assert_eq!(
            row.value, actual,
            "README says {} for {} in {}",
            row.value, row.name, row.file
        );
    }
}

#[test]
fn the_evaluator_reads_the_forms_the_constants_use() {
    let root = workspace_root();
    let scope = Scope::of(&root, "libos-posix/fs/src/inode.rs");
    let evaluate = |expression: &str| Evaluator::new(expression, &scope).expression();
    assert_eq!(evaluate("256 * 1024 * 1024"), 1 << 28);
    assert_eq!(evaluate("1 << 20"), 1_048_576);
    assert_eq!(evaluate("24 * 1024 - 4_000 / 2"), 22_576);
    assert_eq!(evaluate("(BLOCK_SIZE / 4) as u64"), 1024);
    assert_eq!(evaluate("crate::BLOCK_SIZE as u64 + 1u64"), 4097);
    let text =
        "pub(crate) const A: u64 = 1;\n    pub const NOT_A: u64 = 2;\nconst B: usize =\n    A + 1;";
    assert_eq!(definition(text, "A"), Some("1"));
    assert_eq!(definition(text, "B"), Some("A + 1"));
    assert_eq!(definition(text, "C"), None);
}
