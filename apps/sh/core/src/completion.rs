//! Completion at Tab: which word the cursor ends, whether it names a command or a path, and how
//! the candidates the shell finds for it extend it.
//!
//! A word in a command's place (first on the line or after `|` or `&`) without a slash completes
//! to a command name; any other word to a path, listed from its directory. Quotes and escapes
//! are not understood: a word is what lies between blanks and operators.

use alloc::string::String;
use alloc::vec::Vec;

/// What Tab asks the shell for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The word from its start to the cursor.
    pub word: String,
    /// What the word names.
    pub kind: WordKind,
}

/// What a word to complete names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordKind {
    /// A command: a built-in or a program in `/bin`.
    Command,
    /// A path; directories complete with a trailing `/`.
    Path,
}

/// Where the word that ends at `cursor` starts in `line`.
pub fn word_start(line: &[char], cursor: usize) -> usize {
    line[..cursor]
        .iter()
        .rposition(|&character| ends_a_word(character))
        .map_or(0, |position| position + 1)
}

/// The request for the word that ends at `cursor` in `line`.
pub fn request(line: &[char], cursor: usize) -> Request {
    let start = word_start(line, cursor);
    let word: String = line[start..cursor].iter().collect();
    let before = line[..start]
        .iter()
        .rev()
        .find(|&&character| character != ' ' && character != '\t');
    let in_command_place = matches!(before, None | Some('|' | '&'));
    let kind = if in_command_place && !word.contains('/') {
        WordKind::Command
    } else {
        WordKind::Path
    };
    Request { word, kind }
}

fn ends_a_word(character: char) -> bool {
    matches!(character, ' ' | '\t' | '|' | '&' | '<' | '>')
}

/// A path word split for listing: the directory to list, the part of the word kept before the
/// names found there, and the start of the name to complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathParts<'a> {
    /// The directory to list (`.` for a word without a slash).
    pub directory: &'a str,
    /// The word up to and including its last slash.
    pub kept: &'a str,
    /// The word after its last slash.
    pub name_prefix: &'a str,
}

/// Splits path word `word` at its last slash.
pub fn path_parts(word: &str) -> PathParts<'_> {
    match word.rfind('/') {
        None => PathParts {
            directory: ".",
            kept: "",
            name_prefix: word,
        },
        Some(slash) => PathParts {
            directory: if slash == 0 { "/" } else { &word[..slash] },
            kept: &word[..=slash],
            name_prefix: &word[slash + 1..],
        },
    }
}

/// Whether a directory entry called `name` is offered for `name_prefix`: it starts with it, and
/// hidden names (a leading `.`) only when the prefix asks for them.
pub fn offers(name: &str, name_prefix: &str) -> bool {
    name.starts_with(name_prefix) && (!name.starts_with('.') || name_prefix.starts_with('.'))
}

/// How the candidates extend a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extension {
    /// No candidate: nothing to add.
    None,
    /// One candidate: the text that completes the word, with a blank after it unless it is a
    /// directory (ending in `/`), where the next name follows.
    Unique(String),
    /// Several candidates: the text their common start adds to the word (maybe empty).
    Common(String),
}

/// How `candidates` (whole words, each starting with `word`) extend `word`; those that do not
/// start with it are left out.
pub fn extend(word: &str, candidates: &[String]) -> Extension {
    let mut matching = candidates
        .iter()
        .filter(|candidate| candidate.starts_with(word));
    let Some(first) = matching.next() else {
        return Extension::None;
    };
    let mut common = first.as_str();
    let mut count = 1;
    for candidate in matching {
        count += 1;
        let shared: usize = common
            .char_indices()
            .zip(candidate.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((_, a), _)| a.len_utf8())
            .sum();
        common = &common[..shared];
    }
    let added = String::from(&common[word.len()..]);
    if count == 1 {
        let mut added = added;
        if !first.ends_with('/') {
            added.push(' ');
        }
        Extension::Unique(added)
    } else {
        Extension::Common(added)
    }
}

/// The names to list for `candidates` of `request`: each without the directory part the word
/// already has, sorted, without repeats.
pub fn listed_names<'a>(request: &Request, candidates: &'a [String]) -> Vec<&'a str> {
    let kept = match request.kind {
        WordKind::Command => "",
        WordKind::Path => path_parts(&request.word).kept,
    };
    let mut names: Vec<&str> = candidates
        .iter()
        .filter(|candidate| candidate.starts_with(&request.word))
        .map(|candidate| &candidate[kept.len()..])
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn chars(text: &str) -> Vec<char> {
        text.chars().collect()
    }

    fn request_at_end(line: &str) -> Request {
        let line = chars(line);
        request(&line, line.len())
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn the_first_word_and_words_after_pipes_are_commands() {
        for (line, word, kind) in [
            ("", "", WordKind::Command),
            ("ec", "ec", WordKind::Command),
            ("  ec", "ec", WordKind::Command),
            ("cat f | w", "w", WordKind::Command),
            ("sleep 1 &w", "w", WordKind::Command),
            ("cat /da", "/da", WordKind::Path),
            ("cat ", "", WordKind::Path),
            ("./he", "./he", WordKind::Path),
            ("echo x >ou", "ou", WordKind::Path),
            ("wc < /bin/c", "/bin/c", WordKind::Path),
        ] {
            let expected = Request {
                word: word.to_string(),
                kind,
            };
            assert_eq!(request_at_end(line), expected, "{line:?}");
        }
    }

    #[test]
    fn the_word_ends_at_the_cursor() {
        let line = chars("cat /data/notes more");
        assert_eq!(request(&line, 9).word, "/data");
        assert_eq!(word_start(&line, 9), 4);
    }

    #[test]
    fn paths_split_at_their_last_slash() {
        let parts = |directory, kept, name_prefix| PathParts {
            directory,
            kept,
            name_prefix,
        };
        assert_eq!(path_parts("no"), parts(".", "", "no"));
        assert_eq!(path_parts("/"), parts("/", "/", ""));
        assert_eq!(path_parts("/bi"), parts("/", "/", "bi"));
        assert_eq!(path_parts("a/b/c"), parts("a/b", "a/b/", "c"));
        assert_eq!(path_parts("a/"), parts("a", "a/", ""));
    }

    #[test]
    fn hidden_names_are_offered_only_when_asked_for() {
        assert!(offers("notes", "no"));
        assert!(offers("notes", ""));
        assert!(!offers(".hidden", ""));
        assert!(offers(".hidden", "."));
        assert!(!offers("other", "no"));
    }

    #[test]
    fn a_unique_candidate_completes_the_word() {
        assert_eq!(
            extend("ec", &strings(&["echo"])),
            Extension::Unique("ho ".to_string())
        );
        assert_eq!(
            extend("/b", &strings(&["/bin/"])),
            Extension::Unique("in/".to_string()),
            "a directory takes no blank: its names follow"
        );
        assert_eq!(
            extend("echo", &strings(&["echo"])),
            Extension::Unique(" ".to_string())
        );
    }

    #[test]
    fn several_candidates_complete_their_common_start() {
        assert_eq!(
            extend("c", &strings(&["cat", "cd", "cp", "capabilities"])),
            Extension::Common(String::new())
        );
        assert_eq!(
            extend("r", &strings(&["rmdir", "rm", "ls"])),
            Extension::Common("m".to_string())
        );
        assert_eq!(
            extend("x", &strings(&["xé1", "xé2"])),
            Extension::Common("é".to_string())
        );
        assert_eq!(extend("z", &strings(&["cat"])), Extension::None);
        assert_eq!(extend("z", &[]), Extension::None);
    }

    #[test]
    fn listed_names_drop_the_directory_the_word_has() {
        let request = Request {
            word: "/data/n".to_string(),
            kind: WordKind::Path,
        };
        let candidates = strings(&["/data/notes", "/data/new/", "/data/notes", "/other"]);
        assert_eq!(listed_names(&request, &candidates), ["new/", "notes"]);
        let request = Request {
            word: "c".to_string(),
            kind: WordKind::Command,
        };
        assert_eq!(
            listed_names(&request, &strings(&["cp", "cat", "cd"])),
            vec!["cat", "cd", "cp"]
        );
    }
}
