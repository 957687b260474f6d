//! Recognising benchmark figure lines in the serial transcript.
//!
//! A figure line is `ID name value unit`, for example `B1 null_syscall 58 instructions` or
//! `B1.floor syscall_sysret_pair 12 instructions` (see the repository's `BENCHMARKS.md`): the
//! ID is `B` (the system's rows) or `C` (the custom managers' demos against the POSIX path),
//! digits, and an optional `.` plus lower-case letters; the three other fields are non-blank
//! words separated by single spaces.

/// Whether `line` (without its line break) is a benchmark figure.
pub fn is_figure_line(line: &str) -> bool {
    let fields: Vec<&str> = line.split(' ').collect();
    let [id, name, value, unit] = fields.as_slice() else {
        return false;
    };
    is_figure_id(id) && [name, value, unit].iter().all(|field| is_word(field))
}

/// The figure lines of a transcript, in order.
pub fn figure_lines(transcript: &str) -> impl Iterator<Item = &str> {
    transcript
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| is_figure_line(line))
}

fn is_figure_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('B').or_else(|| id.strip_prefix('C')) else {
        return false;
    };
    let (number, suffix) = match rest.split_once('.') {
        Some((number, suffix)) => (number, Some(suffix)),
        None => (rest, None),
    };
    let is_number = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    let is_suffix =
        suffix.is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()));
    is_number && is_suffix
}

fn is_word(field: &str) -> bool {
    !field.is_empty() && !field.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_figures_and_floors() {
        assert!(is_figure_line("B1 null_syscall 58 instructions"));
        assert!(is_figure_line(
            "B1.floor syscall_sysret_pair 12 instructions"
        ));
        assert!(is_figure_line("B10 revocation_abort 1234 ticks"));
        assert!(is_figure_line(
            "C1.posix zipf_scan_1_8_blocks_read 980 per_1000_reads"
        ));
    }

    #[test]
    fn rejects_everything_else() {
        for line in [
            "",
            "B1 null_syscall 58",
            "B1 null_syscall 58 instructions extra",
            "B1  null_syscall 58 instructions",
            "B1 null_syscall 58 instructions ",
            "Bx null_syscall 58 instructions",
            "D1 null_syscall 58 instructions",
            "B null_syscall 58 instructions",
            "B1. null_syscall 58 instructions",
            "B1.Floor null_syscall 58 instructions",
            "B1.floor2 x 1 y",
            "b1 null_syscall 58 instructions",
            " B1 null_syscall 58 instructions",
            "B1 null\tsyscall 58 instructions",
            "exokernel: ready, 1000 free frames",
            "bench: B1 null_syscall 58 instructions",
        ] {
            assert!(!is_figure_line(line), "{line:?}");
        }
    }

    #[test]
    fn picks_figures_out_of_a_transcript() {
        let transcript = "exokernel: ready\r\nB1 null_syscall 58 instructions\r\nbench: done\nB2 ipc 300 instructions\n";
        let figures: Vec<&str> = figure_lines(transcript).collect();
        assert_eq!(
            figures,
            ["B1 null_syscall 58 instructions", "B2 ipc 300 instructions"]
        );
    }
}
