//! Reading init's report lines out of a transcript.
//!
//! For each program it runs, init prints
//!
//! ```text
//! init: <name> (env <id>) <reason>
//! init: free frames before <N> after <M>
//! ```
//!
//! where the reason is, for example, `exited with status 0` or
//! `killed by page fault (vector 14)`.

/// Init's words for a program it started without waiting for it.
const BACKGROUND: &str = "started in the background";

/// What init said about one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramReport {
    pub name: String,
    pub env_id: u64,
    /// How the program ended, as init words it.
    pub reason: String,
    /// Free frames before the program was spawned and after it was reaped, if init said.
    pub frames: Option<(u64, u64)>,
}

/// Every program report in `transcript`, in order.
pub fn program_reports(transcript: &str) -> Vec<ProgramReport> {
    let mut reports: Vec<ProgramReport> = Vec::new();
    for line in transcript.lines() {
        // Init's lines may follow other output on the same line if a program did not end its
        // last line; look for init's prefix anywhere.
        let Some(start) = line.find("init: ") else {
            continue;
        };
        let text = &line[start + "init: ".len()..];
        if let Some(frames) = parse_frames(text) {
            if let Some(last) = reports.last_mut().filter(|report| report.frames.is_none()) {
                last.frames = Some(frames);
            }
        } else if let Some(report) = parse_ending(text) {
            reports.push(report);
        }
    }
    reports
}

/// `<name> (env <id>) <reason>`
fn parse_ending(text: &str) -> Option<ProgramReport> {
    let (name, rest) = text.split_once(" (env ")?;
    let (env_id, reason) = rest.split_once(") ")?;
    // A program started in the background (`name&` in init's arguments) is not waited for.
    if name.is_empty() || name.contains(' ') || reason.is_empty() || reason == BACKGROUND {
        return None;
    }
    Some(ProgramReport {
        name: name.to_owned(),
        env_id: env_id.parse().ok()?,
        reason: reason.trim_end().to_owned(),
        frames: None,
    })
}

/// `free frames before <N> after <M>`
fn parse_frames(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix("free frames before ")?;
    let (before, after) = rest.split_once(" after ")?;
    Some((before.trim().parse().ok()?, after.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSCRIPT: &str = "\
exokernel: ready, 120000 free frames
init: welcome to the exokernel (env 1)
init: hostile-spin (env 2) started in the background
Hello from ring 3!
hello: CPL=3
exokernel: env 2 (hello) ended: general protection fault (vector 13) at rip 0x401234
init: hello (env 2) killed by general protection fault (vector 13)
init: free frames before 119800 after 119800
hostile-syscalls: all checks passedinit: hostile-syscalls (env 3) exited with status 0
init: free frames before 119800 after 119790
init: all programs done
";

    #[test]
    fn reads_each_program_with_its_frame_counts() {
        let reports = program_reports(TRANSCRIPT);
        assert_eq!(
            reports,
            [
                ProgramReport {
                    name: "hello".to_owned(),
                    env_id: 2,
                    reason: "killed by general protection fault (vector 13)".to_owned(),
                    frames: Some((119_800, 119_800)),
                },
                ProgramReport {
                    name: "hostile-syscalls".to_owned(),
                    env_id: 3,
                    reason: "exited with status 0".to_owned(),
                    frames: Some((119_800, 119_790)),
                },
            ]
        );
    }

    #[test]
    fn ignores_other_init_lines_and_kernel_lines() {
        let reports =
            program_reports("init: all programs done\nexokernel: env 2 (hello) ended: x\n");
        assert!(reports.is_empty());
        let without_frames = program_reports("init: spin (env 4) killed by timer\n");
        assert_eq!(without_frames[0].frames, None);
    }
}
